/**
 * What went wrong with one look at a repository, as the RegistryError a user reads: one line that
 * names the registry and the repository (`127.0.0.1:5000 answered 429 for team/web: retry after
 * 30s`), a refusal in the words registry-auth.ts uses for pulls (which config.json to fix), never a
 * credential. Pure but for the clock, read for Retry-After dates.
 */
import type { Clock } from '../util/clock.js';
import { oneLine } from '../util/strip-control.js';
import { RegistryError } from './registry-errors.js';
import { HttpFailure } from './registry-http.js';
import { formatWait, retryAfterMs } from './retry-after.js';

export class RegistryFailures {
  constructor(
    private readonly registry: string,
    private readonly name: string,
    /** Docker's config.json for this environment (`dockerConfigPath`). */
    private readonly configPath: string,
    private readonly clock: Clock,
  ) {}

  /** 401/403 after berth answered the challenge (or had nothing to answer it with). */
  refused(credentialsSent: boolean, why?: string): RegistryError {
    const { registry, name, configPath } = this;
    const message = credentialsSent
      ? `${registry} refused the credentials for ${name}: unauthorized (fix them in ${configPath}: berth reads it again on its next look)`
      : `${registry} asks for credentials for ${name}, and ${configPath} has none for ${registry} (docker login ${registry}, or a credential helper)`;
    return new RegistryError('refused', registry, name, why === undefined ? message : `${message}; ${why}`);
  }

  /** Docker's config.json, or its credential helper, failed. */
  credentialsUnreadable(error: unknown): RegistryError {
    // Nothing from the first quote on: JSON.parse quotes the file's text (`Unexpected token 'P', "Pw-..."`),
    // and a helper's output may quote anything.
    const text = oneLine(error instanceof Error ? error.message : String(error));
    const quote = text.search(/["'`]/);
    const reason = quote < 0 ? text : `${text.slice(0, quote).trimEnd()} …`;
    return new RegistryError(
      'refused',
      this.registry,
      this.name,
      `${this.registry} asks for credentials for ${this.name}, and berth cannot read them: ${reason}`,
    );
  }

  /** A status berth has no use for; `who` names the token service when it answered rather than the registry. */
  status(status: number, headers: Headers, who?: string): RegistryError {
    const { registry, name } = this;
    const speaker = who ?? registry;
    const wait = retryAfterMs(headers.get('retry-after'), this.clock.now());
    const after = wait === undefined ? '' : `: retry after ${formatWait(wait)}`;
    if (status === 429)
      return new RegistryError(
        'rate-limited',
        registry,
        name,
        `${speaker} answered 429 for ${name}${after || ': too many requests, no Retry-After'}`,
        wait,
      );
    if (status === 404 && who === undefined)
      return new RegistryError('not-found', registry, name, `${speaker} answered 404 for ${name}: no such repository`);
    if (status >= 500)
      return new RegistryError(
        'unreachable',
        registry,
        name,
        `${speaker} answered ${status} for ${name}${after}`,
        wait,
      );
    return new RegistryError('bad-answer', registry, name, `${speaker} answered ${status} for ${name}`);
  }

  /** An answer berth cannot use: `detail` says what (`tags page 2 is not JSON`). */
  badAnswer(detail: string, who?: string): RegistryError {
    return new RegistryError(
      'bad-answer',
      this.registry,
      this.name,
      `${who ?? this.registry} gave an unusable answer for ${this.name}: ${detail}`,
    );
  }

  /** A transport failure (no connection, timeout, over a bound, a redirect refused). */
  transport(failure: HttpFailure, who?: string): RegistryError {
    const speaker = who ?? this.registry;
    return failure.kind === 'unreachable'
      ? new RegistryError(
          'unreachable',
          this.registry,
          this.name,
          `${speaker} is unreachable for ${this.name}: ${failure.message}`,
        )
      : this.badAnswer(failure.message, who);
  }

  /** `error` as a RegistryError when it is an HttpFailure; anything else as it is (the caller's abort). */
  wrap(error: unknown, who?: string): unknown {
    return error instanceof HttpFailure ? this.transport(error, who) : error;
  }
}
