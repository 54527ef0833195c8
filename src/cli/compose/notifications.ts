/**
 * Where what happens is said: the one Notifier of `run`, its timeline kept in the state file (the
 * one a previous berth left is read back), its events handed to the sinks of --notify,
 * --notify-file, BERTH_NOTIFY and --notify-exec (notify-options.ts, checked before the start).
 */
import { Notifier, type NotifyMetrics } from '../../notify/notifier.js';
import { leaderOnly } from '../../notify/leader-only.js';
import type { Sink } from '../../notify/sinks.js';
import type { StateStore } from '../../state/store.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';

/** What the notifier is made of. */
export interface NotifierParts {
  namespace: string;
  clock: Clock;
  logger: Logger;
  sinks: Sink[];
  state: Pick<StateStore, 'appendEvent' | 'events'>;
  /** Deliveries and drops per sink, with --listen. */
  metrics?: NotifyMetrics;
  /** On Swarm with a lease: whether this berth leads; only the leader's notifications go out. */
  leading?: () => boolean;
}

/** The notifier of `run`; stop() gives up what is still queued (it stays in the timeline). */
export function composeNotifier(parts: NotifierParts): Notifier {
  const { state, metrics, leading, sinks, ...rest } = parts;
  return new Notifier({
    ...rest,
    sinks: leading ? sinks.map((sink) => leaderOnly(sink, leading)) : sinks,
    persist: (event) => state.appendEvent(event),
    initial: state.events(),
    ...(metrics ? { metrics } : {}),
  });
}
