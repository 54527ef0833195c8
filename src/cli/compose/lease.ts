/**
 * Leader election for `run --runtime swarm`: the replica's identity (kept in the namespace's state
 * directory), the lease in the swarm (a Swarm config of berth's, loaded only for Swarm) and the
 * elector that contends for it. One berth alone takes the lease at its first look.
 */
import type { EventSink } from '../../events/types.js';
import { LeaseElector } from '../../lease/elector.js';
import { leaseIdentity } from '../../lease/identity.js';
import { StateStore } from '../../state/store.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { positiveInteger } from '../options.js';

/** `--lease-duration SECONDS`: how long a standby watches the lease unchanged before it takes it. */
export const LEASE_FLAGS = {
  'lease-duration': { type: 'string', default: '15' },
} as const;

/** The lease's duration in milliseconds, checked (2 s to one hour). */
export function leaseDurationMs(values: Record<string, unknown>): number {
  return positiveInteger(values, 'lease-duration', 2, 3600) * 1000;
}

export interface LeaseParts {
  namespace: string;
  stateDir: string;
  durationMs: number;
  clock: Clock;
  logger: Logger;
  /** Where the role's changes are said; a function, since the notifier is made after the elector's `leading`. */
  events: () => EventSink | undefined;
  onRole(leading: boolean): void;
}

/** The elector of this replica, not started. */
export async function composeLease(parts: LeaseParts): Promise<LeaseElector> {
  const { createSwarmLease } = await import('../../runtime/docker/swarm-lease.js');
  const identity = await leaseIdentity(StateStore.directory(parts.stateDir, parts.namespace));
  return new LeaseElector({
    store: createSwarmLease(parts.namespace),
    clock: parts.clock,
    monotonic: () => performance.now(),
    logger: parts.logger.child({ source: 'lease' }),
    identity,
    durationMs: parts.durationMs,
    events: { emit: (event) => parts.events()?.emit(event) },
    onRole: (leading) => parts.onRole(leading),
  });
}
