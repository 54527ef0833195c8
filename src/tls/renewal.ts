/** When to renew and when to retry. Pure. */

const DAY_MS = 86_400_000;
/** Renew this long before expiry (Let's Encrypt's advice), or at two thirds of a shorter lifetime. */
const RENEW_BEFORE_MS = 30 * DAY_MS;

/** When a certificate valid from `notBefore` to `notAfter` is due for renewal. */
export function renewAt(notBefore: number, notAfter: number): number {
  return notAfter - Math.min(RENEW_BEFORE_MS, (notAfter - notBefore) / 3);
}

/**
 * How long to wait after the `failures`-th failed order in a row (1-based). A CA that did not
 * answer costs no rate limit: 5 s doubling to 5 min. A CA that refused counts against its limits
 * (Let's Encrypt allows 5 failed validations per hostname per hour): 1 min doubling to 1 h. The
 * CA's own Retry-After wins when longer.
 */
export function retryDelayMs(failures: number, reachable: boolean, retryAfterSeconds?: number): number {
  const [first, cap] = reachable ? [60_000, 3_600_000] : [5_000, 300_000];
  const backoff = Math.min(cap, first * 2 ** Math.max(0, failures - 1));
  return Math.max(backoff, (retryAfterSeconds ?? 0) * 1000);
}
