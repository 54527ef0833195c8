import { UsageError } from './usage.js';

/** A label as the schema's `domains` spell them: lower case letters, digits, inner hyphens. */
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN = new RegExp(`^(?:${LABEL}\\.)*${LABEL}$`);
/** `<app>.D` must stay a valid name: an app name is up to 63 characters and a dot. */
const MAX_DEFAULT_DOMAIN = 253 - 64;

/**
 * `--domain D` goes into nginx server names and certificate orders: only a lowercase hostname,
 * as the manifests' own `domains` are, is taken; anything else is a usage error naming it.
 */
export function checkedDomain(domain: string): string {
  if (!DOMAIN.test(domain) || domain.length > MAX_DEFAULT_DOMAIN) {
    throw new UsageError(
      `--domain "${domain.slice(0, 80).replace(/[^\x20-\x7e]/g, '?')}" is not a lowercase hostname of at most ${MAX_DEFAULT_DOMAIN} characters (letters, digits, inner hyphens, dots)`,
    );
  }
  return domain;
}
