/**
 * The errors of berth's two boundaries with image registries: a look at a repository's tags over
 * the Registry HTTP API (RegistryError) and a registry's push notification (RegistryWebhookError).
 * Their messages are one line, name the registry and repository, and never quote a credential.
 */

/**
 * Why a look at a registry found no tags:
 * - `unreachable`: no connection, no answer within the timeout, or a 5xx;
 * - `refused`: 401/403 once berth answered the registry's challenge with what Docker's config.json
 *   holds (or had nothing to answer it with), or config.json / its credential helper failed;
 * - `not-found`: 404, no such repository;
 * - `rate-limited`: 429, with `retryAfterMs` when the registry said (Retry-After, at most 1 hour);
 * - `bad-answer`: anything else the registry said that berth cannot use (not JSON, wrongly shaped,
 *   over a bound, a next page or redirect to another origin, an unexpected status).
 */
export type RegistryErrorKind = 'unreachable' | 'refused' | 'not-found' | 'rate-limited' | 'bad-answer';

export class RegistryError extends Error {
  constructor(
    readonly kind: RegistryErrorKind,
    /** The registry as berth names it: `127.0.0.1:5000`, `docker.io`. */
    readonly registry: string,
    /** The repository within it: `team/web`, `library/nginx`. */
    readonly repository: string,
    message: string,
    /** When to look again, for `rate-limited` (and a 5xx that said). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

/** A registry notification berth cannot read: none of the shapes it knows, or one with wrongly typed fields. */
export class RegistryWebhookError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryWebhookError';
  }
}
