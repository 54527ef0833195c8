/** The proxy refused or failed to take a configuration; the previous one stays in place. */
export class ProxyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProxyError';
  }
}

/**
 * A domain of the app is already served by another server block on the same listener (another
 * namespace's berth, or a vhost berth did not write): that one keeps it, and the app's block is
 * left as it was. The message names each domain and who holds it.
 */
export class DomainConflictError extends ProxyError {
  constructor(
    message: string,
    readonly domains: string[],
  ) {
    super(message);
    this.name = 'DomainConflictError';
  }
}
