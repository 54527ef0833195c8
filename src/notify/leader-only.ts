/**
 * Notifications from the leader only (Swarm leader election): a sink whose deliveries go out only
 * while `leading()` says this berth holds the lease, checked right before each one. A standby's
 * events stay in its own timeline. The lease's own events (`lease.acquired`, `lease.lost`) go out
 * from any replica: they are news of the replica itself.
 */
import type { Sink } from './sinks.js';

/** `sink`, delivering only while `leading()`; what is not delivered is dropped, not retried. */
export function leaderOnly(sink: Sink, leading: () => boolean): Sink {
  return {
    name: sink.name,
    filter: sink.filter,
    deliver: async (event) => {
      if (event.type.startsWith('lease.') || leading()) await sink.deliver(event);
    },
  };
}
