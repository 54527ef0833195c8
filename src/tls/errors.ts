/** A certificate or key file berth cannot use; the message names the file and why, in one line. */
export class TlsFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TlsFileError';
  }
}

/**
 * An ACME order that did not end in a certificate. `reachable` is false when the CA did not
 * answer at all (no rate limit spent, retried sooner); `retryAfterSeconds` is the CA's own ask.
 */
export class AcmeError extends Error {
  readonly reachable: boolean;
  readonly retryAfterSeconds: number | undefined;
  constructor(message: string, options: { reachable: boolean; retryAfterSeconds?: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'AcmeError';
    this.reachable = options.reachable;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
