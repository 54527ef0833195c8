/**
 * The lease judged, as client-go's leader election judges a Lease: pure, given what this replica
 * read of the lease, what it remembers, and ITS OWN monotonic clock. A lease held by another is
 * expired when a standby has watched it unchanged (the same holder, renew label and version) for
 * the lease's duration, timed from when this replica last saw it change: the holder's clock and
 * its timestamps are never compared with this one's. A leader acts only while its last successful
 * renew was SENT less than the renew deadline ago, so it stops before any standby could take the
 * lease, and a process frozen past that wakes not leading.
 */
import type { LeaseRecord } from '../runtime/lease.js';

/** What a replica remembers between looks. */
export interface LeaseMemory {
  /** The lease as last seen (holder, renew label, version) and when, by the monotonic clock, it was first seen so. */
  seen?: { key: string; sinceMs: number };
  /** When the last renew that succeeded was sent (monotonic); undefined when this replica never held the lease. */
  renewSentMs?: number;
}

/** What to do after a look at the lease. */
export type LeaseDecision =
  /** No lease in the swarm: make one, held by this replica. */
  | { kind: 'create' }
  /** This replica holds it (or held it before a restart on the same state dir): write it again at its version. */
  | { kind: 'renew'; version: number }
  /** Nobody holds it, or its holder stopped renewing for a whole duration: take it at its version. */
  | { kind: 'acquire'; version: number; from: string }
  /** Another holds it and renews it: watch on. `expiresInMs`: how long until it would be judged expired unchanged. */
  | { kind: 'standby'; holder: string; expiresInMs: number };

export interface LeaseLook {
  /** This replica's identity. */
  me: string;
  /**
   * This replica's name (hostname/id): a lease held by `me` under another name is another
   * process's that shares this replica's state directory (a copied volume, a snapshot), and is
   * judged as another holder's, never renewed as this one's.
   */
  myName?: string;
  /** The lease as read now; undefined when there is none. */
  lease: LeaseRecord | undefined;
  memory: LeaseMemory;
  /** Monotonic milliseconds now. */
  nowMs: number;
  /** This replica's lease duration: used when the lease names none. */
  durationMs: number;
}

/** The decision on one look, and the memory to keep for the next. */
export function judgeLease(look: LeaseLook): { decision: LeaseDecision; memory: LeaseMemory } {
  const { me, lease, memory, nowMs } = look;
  if (!lease) return { decision: { kind: 'create' }, memory: { ...memory, seen: undefined } };
  const key = `${lease.holder}\n${lease.renewed}\n${lease.version}`;
  const seen = memory.seen?.key === key ? memory.seen : { key, sinceMs: nowMs };
  const kept: LeaseMemory = { ...memory, seen };
  const mine = lease.holder === me && (look.myName === undefined || lease.holderName === look.myName);
  if (mine) return { decision: { kind: 'renew', version: lease.version }, memory: kept };
  if (lease.holder === '') return { decision: { kind: 'acquire', version: lease.version, from: '' }, memory: kept };
  const durationMs = lease.durationSeconds > 0 ? lease.durationSeconds * 1000 : look.durationMs;
  const unchangedMs = nowMs - seen.sinceMs;
  if (unchangedMs >= durationMs)
    return { decision: { kind: 'acquire', version: lease.version, from: lease.holder }, memory: kept };
  return { decision: { kind: 'standby', holder: lease.holder, expiresInMs: durationMs - unchangedMs }, memory: kept };
}

/** Whether a replica that renewed at `renewSentMs` may act at `nowMs`: strictly within the renew deadline. */
export function mayAct(renewSentMs: number | undefined, nowMs: number, renewDeadlineMs: number): boolean {
  return renewSentMs !== undefined && nowMs - renewSentMs < renewDeadlineMs;
}

/** The timing of a lease of `durationMs`: renew about five times per duration; stop acting at two thirds of it. */
export function leaseTiming(durationMs: number): { retryMs: number; renewDeadlineMs: number } {
  return { retryMs: Math.max(200, Math.floor(durationMs / 5)), renewDeadlineMs: Math.floor((durationMs * 2) / 3) };
}
