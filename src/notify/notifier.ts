/**
 * The one recorder of events: each is said once (the same event of an app repeated on every
 * backoff retry is not said again until something else happens to the app), kept in a bounded
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

export interface NotifierDeps {
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
  private readonly lastByApp = new Map<string, string>();
  /** Apps whose last deploy failed, and the revision: its retries are not said again. */
  private readonly failing = new Map<string, string>();
  private readonly lanes: Lane[];
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(private readonly deps: NotifierDeps) {
    this.timeline = [...(deps.initial ?? [])].slice(-TIMELINE_LIMIT);
    for (const event of this.timeline) this.lastByApp.set(event.app ?? '', fingerprint(event));
    this.lanes = deps.sinks.map((sink) => ({ sink, queue: [], running: false }));
  }

  emit(input: NewEvent): void {
    if (this.stopped) return;
    const { clock, namespace } = this.deps;
    const event: BerthEvent = { id: randomUUID(), type: input.type, time: new Date(clock.now()).toISOString(), namespace, ...(input.app !== undefined ? { app: input.app } : {}), message: input.message, details: input.details ?? {} };
    const key = input.app ?? '';
    if (this.lastByApp.get(key) === fingerprint(event)) return;
    // A deploy that fails on every backoff retry is said once: its retries (started, failed again) are not news.
    const revision = typeof event.details.revision === 'string' ? event.details.revision : undefined;
    const retrying = input.app !== undefined && revision !== undefined && this.failing.get(input.app) === revision;
    if (retrying && (event.type === 'deploy.started' || event.type === 'deploy.failed')) return;
    if (input.app !== undefined) {
      if (event.type === 'deploy.failed' && revision !== undefined) this.failing.set(input.app, revision);
      else if (event.type.startsWith('deploy.') || event.type === 'app.removed') this.failing.delete(input.app);
    }
    this.lastByApp.set(key, fingerprint(event));
    this.timeline.push(event);
    if (this.timeline.length > TIMELINE_LIMIT) this.timeline.splice(0, this.timeline.length - TIMELINE_LIMIT);
    this.deps.persist?.(event);
    for (const lane of this.lanes) {
      if (!matches(lane.sink.filter, event)) continue;
      if (lane.queue.length >= QUEUE_LIMIT) {
        this.deps.metrics?.dropped(lane.sink.name);
        this.deps.logger.warn({ source: 'notify', sink: lane.sink.name, event: event.type }, `notification queue of ${lane.sink.name} is full; dropped ${event.type}`);
        continue;
      }
      lane.queue.push(event);
      if (!lane.running) void this.drain(lane);
    }
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
        if (attempt > 1) logger.info({ source: 'notify', sink: sink.name, event: event.type, attempts: attempt }, `delivered ${event.type} to ${sink.name} after ${attempt} attempts`);
        return;
      } catch (error) {
        const failure = error instanceof DeliveryError ? error : new DeliveryError(`${sink.name}: ${(error as Error).message}`, true);
        const delay = Math.max(failure.retryAfterMs ?? 0, Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (attempt - 1)));
        const giveUp = !failure.retryable || attempt >= MAX_ATTEMPTS || clock.now() + delay - begin > MAX_AGE_MS || this.stopped;
        if (giveUp) {
          metrics?.delivered(sink.name, 'failed');
          logger.warn({ source: 'notify', sink: sink.name, event: event.type, attempts: attempt, reason: failure.message }, `could not deliver ${event.type} to ${sink.name}: ${failure.message}; given up after ${attempt} attempt(s)`);
          return;
        }
        if (attempt === 1) logger.warn({ source: 'notify', sink: sink.name, event: event.type, reason: failure.message }, `delivering ${event.type} to ${sink.name} failed (${failure.message}); retrying with backoff`);
        await clock.sleep(delay, this.abort.signal).catch(() => undefined);
      }
    }
  }
}

/** What makes two events of an app the same news. */
function fingerprint(event: BerthEvent): string {
  return `${event.type}\u0000${event.message}`;
}
