/**
 * Source: the container engine's event stream. Container events of managed apps (die, stop,
 * destroy, oom, ...) enqueue the app; image events (tag, load, pull) enqueue the apps waiting
 * for that image. When the stream breaks (engine restart), it is resubscribed with backoff and,
 * once back, everything is resynced: events missed meanwhile are recovered by the level-
 * triggered reconcile, not replayed.
 */
import type { EventSubscription, Runtime, RuntimeEvent } from '../../runtime/types.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { backoffDelay, type BackoffPolicy } from '../backoff.js';
import type { ExpectedEvents } from '../expected-events.js';

import type { HostEventHandlers, HostEventSource } from './host-events.js';

const RECONNECT: BackoffPolicy = { baseMs: 500, maxMs: 15_000 };
/** A ping unanswered this long means a hung engine; probes start at most this often. */
export const PROBE_DEADLINE_MS = 5_000;
const PROBE_INTERVAL_MS = 1_000;
/**
 * Container events that say nothing about what runs: among them the exec and health events an
 * image's HEALTHCHECK emits every interval, which would otherwise reconcile the app each time.
 */
const IGNORED_CONTAINER_ACTIONS = new Set([
  'create',
  'attach',
  'detach',
  'resize',
  'top',
  'export',
  'commit',
  'copy',
  'archive-path',
  'extract-to-dir',
  'rename',
  'update',
]);
const IGNORED_CONTAINER_ACTION_PREFIXES = ['exec_', 'health_status'];

export class EngineEvents implements HostEventSource {
  private subscription: EventSubscription | undefined;
  private cancelRetry: (() => void) | undefined;
  private failures = 0;
  private closed = false;
  private handlers: HostEventHandlers | undefined;
  /** The ping in flight, if any. */
  private probing: { startedAt: number; cancelCheck: () => void } | undefined;
  private lastProbeAt = Number.NEGATIVE_INFINITY;
  /** A probe found the engine not answering; cleared by the next answered probe. */
  private hung = false;
  private cancelReprobe: (() => void) | undefined;

  constructor(
    private readonly namespace: string,
    private readonly deps: { runtime: Runtime; clock: Clock; logger: Logger; expected?: ExpectedEvents },
  ) {}

  /** Subscribes; when the engine is unreachable now, keeps retrying in the background. */
  async start(handlers: HostEventHandlers): Promise<void> {
    this.handlers = handlers;
    await this.connect();
  }

  close(): void {
    this.closed = true;
    this.cancelRetry?.();
    this.probing?.cancelCheck();
    this.cancelReprobe?.();
    this.subscription?.close();
  }

  probe(): void {
    if (this.closed) return;
    const { clock } = this.deps;
    if (this.probing) {
      this.judgeProbe();
      return;
    }
    if (clock.now() - this.lastProbeAt < PROBE_INTERVAL_MS) return;
    this.lastProbeAt = clock.now();
    const probing = {
      startedAt: clock.now(),
      cancelCheck: clock.schedule(() => this.judgeProbe(), PROBE_DEADLINE_MS + 50),
    };
    this.probing = probing;
    const settle = (answered: boolean) => {
      probing.cancelCheck();
      if (this.probing === probing) this.probing = undefined;
      // A refused connection is the event stream's to report; only an answer ends a hang.
      if (this.closed || !this.hung) return;
      if (answered) {
        this.hung = false;
        this.deps.logger.info({ source: 'engine-probe' }, 'the engine answers again; resyncing');
        this.handlers?.onReconnect();
      } else {
        // Only while the engine is hung does berth ask again by itself, until it answers.
        this.cancelReprobe = clock.schedule(() => this.probe(), PROBE_INTERVAL_MS);
      }
    };
    this.deps.runtime.ping().then(
      () => settle(true),
      () => settle(false),
    );
  }

  /** A ping outstanding past the deadline, while the stream looks alive, is a hung engine. */
  private judgeProbe(): void {
    const probing = this.probing;
    if (!probing || this.hung || this.failures > 0 || this.closed) return;
    const waited = this.deps.clock.now() - probing.startedAt;
    if (waited < PROBE_DEADLINE_MS) return;
    this.hung = true;
    const error = new Error(`the engine has not answered a ping for ${Math.round(waited / 1000)} s (hung or stopped)`);
    this.deps.logger.warn({ source: 'engine-probe', waitedMs: waited }, error.message);
    this.handlers?.onOutage(error);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    try {
      this.subscription = await this.deps.runtime.subscribe(
        this.namespace,
        (event) => this.dispatch(event),
        (error) => this.broken(error),
      );
      if (this.failures > 0) {
        this.deps.logger.info({ source: 'engine-events' }, 'engine event stream re-established; resyncing');
        this.failures = 0;
        this.handlers?.onReconnect();
      }
    } catch (error) {
      this.broken(error as Error);
    }
  }

  private broken(error: Error): void {
    if (this.closed) return;
    this.subscription = undefined;
    this.failures++;
    if (this.failures === 1) {
      this.deps.logger.warn({ source: 'engine-events', err: error }, 'engine event stream lost; reconnecting');
      this.handlers?.onOutage(error);
    }
    this.cancelRetry = this.deps.clock.schedule(() => void this.connect(), backoffDelay(RECONNECT, this.failures));
  }

  private dispatch(event: RuntimeEvent): void {
    if (event.kind === 'container') {
      if (!event.app || event.namespace !== this.namespace || isIgnored(event.action)) return;
      // berth's own start/stop/remove: the reconcile that acted confirms the outcome itself.
      if (this.deps.expected?.consume(event.id, event.action)) return;
      this.handlers?.onApp(event.app);
      return;
    }
    if (event.ref && ['tag', 'load', 'pull', 'import'].includes(event.action)) this.handlers?.onImage(event.ref);
  }
}

function isIgnored(action: string): boolean {
  return (
    IGNORED_CONTAINER_ACTIONS.has(action) ||
    IGNORED_CONTAINER_ACTION_PREFIXES.some((prefix) => action.startsWith(prefix))
  );
}
