export interface BackoffPolicy {
  /** Delay after the first failure. */
  baseMs: number;
  /** The delay never exceeds this. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 2_000, maxMs: 300_000 };

/** Exponential: base, 2·base, 4·base, ... capped at max. `failures` counts from 1. */
export function backoffDelay(policy: BackoffPolicy, failures: number): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(policy.baseMs * 2 ** exponent, policy.maxMs);
}
