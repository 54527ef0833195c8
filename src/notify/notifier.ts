/**
 * The one recorder of events: every occurrence is said, except a deploy's backoff retries (a
 * revision that failed is not said to start and fail again until something else happens to the
 * app, or a person asks for a retry), kept in a bounded
 * timeline (memory and the state file), and handed to every sink that wants it through a bounded
 * queue per sink. Delivery is asynchronous and never on the reconcile path: a slow or dead
 * receiver slows no deploy. A failed delivery is retried with backoff (bounded attempts and
 * age); a full queue drops the newest event and counts it.
 */
import { randomUUID } from 'node:crypto';
import { matches } from '../events/filter.js';
import type { BerthEvent, EventSink, NewEvent } from '../events/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { DeliveryError, type Sink } from './sinks.js';

export interface NotifyMetrics {
  delivered(sink: string, result: 'delivered' | 'failed'): void;
  dropped(sink: string): void;
}

interface NotifierDeps {
  namespace: string;
  clock: Clock;
  logger: Logger;
  sinks: Sink[];
  /** Keeps the timeline across restarts (the state file). */
  persist?: (event: BerthEvent) => void;
  /** The timeline a previous berth left. */
  initial?: BerthEvent[];
  metrics?: NotifyMetrics;
}

/** Events kept in the timeline. */
export const TIMELINE_LIMIT = 300;
/** Events waiting per sink before new ones are dropped. */
const QUEUE_LIMIT = 1_000;
const MAX_ATTEMPTS = 8;
const MAX_AGE_MS = 60 * 60_000;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 5 * 60_000;

interface Lane {
  sink: Sink;
  queue: BerthEvent[];
  running: boolean;
}

export class Notifier implements EventSink {
  private readonly timeline: BerthEvent[];
  /** Apps whose last deploy failed, and the revision: its backoff retries are not said again. */
  private readonly failing = new Map<string, string>();
  private readonly lanes: Lane[];
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(private readonly deps: NotifierDeps) {
    this.timeline = [...(deps.initial ?? [])].slice(-TIMELINE_LIMIT);
    this.lanes = deps.sinks.map((sink) => ({ sink, queue: [], running: false }));
  }

  emit(input: NewEvent): void {
    if (this.stopped) return;
    const { clock, namespace } = this.deps;
    const event: BerthEvent = {
      id: randomUUID(),
      type: input.type,
      time: new Date(clock.now()).toISOString(),
      namespace,
      ...(input.app !== undefined ? { app: input.app } : {}),
      message: input.message,
      details: input.details ?? {},
    };
    if (this.isRetry(event)) return;
    this.track(event);
    this.timeline.push(event);
    if (this.timeline.length > TIMELINE_LIMIT) this.timeline.splice(0, this.timeline.length - TIMELINE_LIMIT);
    this.deps.persist?.(event);
    for (const lane of this.lanes) {
      if (!matches(lane.sink.filter, event)) continue;
      if (lane.queue.length >= QUEUE_LIMIT) {
        this.deps.metrics?.dropped(lane.sink.name);
        this.deps.logger.warn(
          { source: 'notify', sink: lane.sink.name, event: event.type },
          `notification queue of ${lane.sink.name} is full; dropped ${event.type}`,
        );
        continue;
      }
      lane.queue.push(event);
      if (!lane.running) void this.drain(lane);
    }
  }

  /**
   * A new attempt a person asked for (`berth retry`): how it starts and ends is news again, though
   * the revision is the one that failed.
   */
  retried(app: string): void {
    this.failing.delete(app);
  }

  /** Newest last; of one app when given. */
  events(app?: string): BerthEvent[] {
    return app === undefined ? [...this.timeline] : this.timeline.filter((e) => e.app === app);
  }

  /** Stops retrying; what is queued is given up (it stays in the timeline). */
  stop(): void {
    this.stopped = true;
    this.abort.abort();
  }

  private async drain(lane: Lane): Promise<void> {
    lane.running = true;
    try {
      while (lane.queue.length > 0 && !this.stopped) {
        const event = lane.queue[0]!;
        await this.deliver(lane.sink, event);
        lane.queue.shift();
      }
    } finally {
      lane.running = false;
    }
  }

  private async deliver(sink: Sink, event: BerthEvent): Promise<void> {
    const { clock, logger, metrics } = this.deps;
    const begin = clock.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await sink.deliver(event);
        metrics?.delivered(sink.name, 'delivered');
        if (attempt > 1)
          logger.info(
            { source: 'notify', sink: sink.name, event: event.type, attempts: attempt },
            `delivered ${event.type} to ${sink.name} after ${attempt} attempts`,
          );
        return;
      } catch (error) {
        const failure =
          error instanceof DeliveryError ? error : new DeliveryError(`${sink.name}: ${(error as Error).message}`, true);
        const delay = Math.max(failure.retryAfterMs ?? 0, Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempt - 1)));
        const giveUp =
          !failure.retryable || attempt >= MAX_ATTEMPTS || clock.now() + delay - begin > MAX_AGE_MS || this.stopped;
        if (giveUp) {
          metrics?.delivered(sink.name, 'failed');
          logger.warn(
            { source: 'notify', sink: sink.name, event: event.type, attempts: attempt, reason: failure.message },
            `could not deliver ${event.type} to ${sink.name}: ${failure.message}; given up after ${attempt} attempt(s)`,
          );
          return;
        }
        if (attempt === 1)
          logger.warn(
            { source: 'notify', sink: sink.name, event: event.type, reason: failure.message },
            `delivering ${event.type} to ${sink.name} failed (${failure.message}); retrying with backoff`,
          );
        await clock.sleep(delay, this.abort.signal).catch(() => undefined);
      }
    }
  }

  /**
   * True for the start and the failure of a backoff retry: a deploy of the very revision whose
   * last deploy failed, with nothing else said of its deploys since. Every other event is an
   * occurrence of its own (the same container replaced twice is two `drift.repaired`).
   */
  private isRetry(event: BerthEvent): boolean {
    if (event.type !== 'deploy.started' && event.type !== 'deploy.failed') return false;
    const revision = revisionOf(event);
    return event.app !== undefined && revision !== undefined && this.failing.get(event.app) === revision;
  }

  /** Follows which revision of each app is failing: set by its failure, ended by any other deploy event or the app's removal. */
  private track(event: BerthEvent): void {
    if (event.app === undefined) return;
    const revision = revisionOf(event);
    if (event.type === 'deploy.failed' && revision !== undefined) this.failing.set(event.app, revision);
    else if (event.type.startsWith('deploy.') || event.type === 'app.removed') this.failing.delete(event.app);
  }
}

function revisionOf(event: BerthEvent): string | undefined {
  return typeof event.details.revision === 'string' ? event.details.revision : undefined;
}
