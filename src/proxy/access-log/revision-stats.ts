/**
 * Attribution: the attempts nginx logged, counted for each revision by upstream address (pure).
 *
 * Every attempt counts for the revision whose address it went to, so after a retry a canary's
 * failed attempt counts against the canary and the stable revision's answer for the stable one.
 * A request is an attempt with a status (`-`, no answer read because the client left first, counts
 * for nobody); an error is a status of 500 or more, which includes nginx's own 502 for a failed
 * connection and 504 for a timeout. The p95 is over the attempts' upstream response times (the
 * nearest-rank 95th percentile), absent when none had one.
 */
import type { AttemptLog, KeptAttempt } from './attempt-log.js';

/** One revision's numbers over a window. */
export interface RevisionStats {
  requests: number;
  errors: number;
  /** 95th percentile of the upstream response time in ms; absent with no timed attempt. */
  p95Ms?: number;
}

/**
 * The numbers of each revision of `addressesByRevision` (revision -> its upstream addresses,
 * `host:port` as nginx writes them) over the attempts logged at or after `since` (ms since the
 * epoch, compared with nginx's `$msec`). Every revision asked for is in the result, with zeros
 * when nothing was heard. An address listed under two revisions counts for both.
 */
export function revisionStats(
  log: Pick<AttemptLog, 'attemptsAt'>,
  addressesByRevision: ReadonlyMap<string, readonly string[]>,
  since: number,
): Map<string, RevisionStats> {
  const result = new Map<string, RevisionStats>();
  for (const [revision, addresses] of addressesByRevision) {
    const attempts: KeptAttempt[] = [];
    for (const address of new Set(addresses)) {
      for (const attempt of log.attemptsAt(address)) if (attempt.at >= since) attempts.push(attempt);
    }
    result.set(revision, statsOf(attempts));
  }
  return result;
}

/** The numbers of one set of attempts. */
export function statsOf(attempts: readonly KeptAttempt[]): RevisionStats {
  let requests = 0;
  let errors = 0;
  const times: number[] = [];
  for (const attempt of attempts) {
    if (attempt.status === undefined) continue;
    requests++;
    if (attempt.status >= 500) errors++;
    if (attempt.responseMs !== undefined) times.push(attempt.responseMs);
  }
  const p95Ms = percentile(times, 95);
  return p95Ms === undefined ? { requests, errors } : { requests, errors, p95Ms };
}

/** The nearest-rank percentile `p` (0 < p <= 100) of `values`; `undefined` when empty. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}
