/**
 * The controller loop, after controller-runtime: sources (manifest watcher, host events,
 * periodic resync of what drifted) put app names on a work queue; `concurrency` workers take
 * them off and run the app reconciler, one reconcile per app at a time; failures come back with
 * backoff, requested delays (old containers retiring) with `addAfter`. It knows apps by name
 * only: what runs them (containers, services) is the reconciler's business.
 */
import { formatProblem, type ManifestProblem, type ManifestSet } from '../manifest/types.js';
import type { EventSink } from '../events/types.js';
import type { AppReconciler, HostView, ReconcileResult } from '../reconcile/core/reconciler.js';
import type { StateStore } from '../state/store.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { noMetrics, type ControllerMetrics, type ReconcileOutcome } from '../metrics/types.js';
import type { DesiredState } from './desired-state.js';
import type { WorkQueue } from './queue.js';
import type { HostEventSource } from './sources/host-events.js';
import { ManifestWatcher } from './sources/manifest-watcher.js';

/**
 * How long after a managed container's first event its app is reconciled. It coalesces a burst
 * of events, and it lets an engine that is shutting down (stopping every container, still
 * answering for a moment) be seen as an outage before berth recreates what it stops: a container
 * created in that moment can be left unremovable by the engine once it is back.
 */
export const ENGINE_EVENT_DELAY_MS = 2_000;
/** The same for an app within its deploy.monitor window: long enough to coalesce die, stop and restart. */
export const WATCHED_EVENT_DELAY_MS = 100;

export interface ControllerOptions {
  /** Apps reconciled in parallel. */
  concurrency: number;
  /** Seconds between resyncs (re-read the directory, look at the host once, enqueue the apps that drifted). */
  resyncSeconds: number;
}

export interface ControllerDeps {
  clock: Clock;
  logger: Logger;
  state: StateStore;
  /** The manifest directory (its apps' secrets decrypted, when they name any). */
  manifests: { readonly dir: string; read(): Promise<ManifestSet> };
  desired: DesiredState;
  reconciler: AppReconciler;
  queue: WorkQueue;
  /** The engine's events and reachability. */
  events: HostEventSource;
  metrics?: ControllerMetrics;
  /** Where what happened is said (timeline, notifications). */
  notify?: EventSink;
  /** Called after a read of the manifests changed the desired state of `changed` apps. */
  onDesiredChange?(changed: readonly string[]): void;
}

/** Why the controller is or is not ready (`/readyz`). */
export interface Readiness {
  ready: boolean;
  /** Empty when ready. */
  reasons: string[];
  /** False while the engine is lost or hung: whoever reads it must not wait on the engine. */
  engineReachable: boolean;
}

export class Controller {
  private readonly abort = new AbortController();
  private readonly results = new Map<string, ReconcileResult>();
  private workers: Promise<void>[] = [];
  private watcher: ManifestWatcher | undefined;
  private cancelResync: (() => void) | undefined;
  private reading: Promise<void> | undefined;
  private readAgain = false;
  /** Problems already logged, so each is logged once when it appears, not at every read. */
  private reportedProblems = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  private engineReachable = true;
  private synced = false;
  /** Apps whose manifest changed while the initial sync judged the host; queued when it ends. */
  private readonly changedBeforeSync = new Set<string>();

  constructor(
    private readonly deps: ControllerDeps,
    private readonly options: ControllerOptions,
  ) {}

  /** Runs until `stop`: initial sync, then every source. */
  async start(): Promise<void> {
    const { clock, logger, queue, desired, events } = this.deps;
    this.watcher = new ManifestWatcher(this.deps.manifests.dir, () => void this.readManifests(), { clock, logger });
    await this.watcher.start();
    await events.start({
      // A burst of one app's host events (a `docker stop`'s kill, die, stop) is one reconcile, ENGINE_EVENT_DELAY_MS after the first.
      // An app whose new revision is being watched is looked at at once: a crash there means switching back.
      onApp: (app) =>
        queue.addAfter(app, this.deps.reconciler.isWatching?.(app) ? WATCHED_EVENT_DELAY_MS : ENGINE_EVENT_DELAY_MS),
      onImage: (ref) => {
        const isPending = (app: string) => this.deps.state.get(app)?.phase === 'Pending';
        // The very image a Pending app waits for appeared (load, tag, someone's pull): deploy now, even mid-backoff.
        for (const app of desired.waitingFor(ref)) {
          if (isPending(app)) queue.retryNow(app);
          else queue.add(app);
        }
        for (const app of this.deps.state.names()) if (isPending(app)) queue.add(app);
      },
      // Said on a change only: the event stream and the probe may both notice the same outage, or the same return.
      onReconnect: () => {
        const was = this.engineReachable;
        this.engineReachable = true;
        this.deps.state.setEngine({ reachable: true, since: clock.now() });
        if (!was)
          this.deps.notify?.emit({ type: 'engine.back', message: 'the Docker engine answers again', details: {} });
        void this.resync(true);
      },
      onOutage: (error) => {
        const was = this.engineReachable;
        this.engineReachable = false;
        this.deps.state.setEngine({ reachable: false, since: clock.now(), error: error.message });
        if (was)
          this.deps.notify?.emit({
            type: 'engine.lost',
            message: `the Docker engine is unreachable: ${error.message}`,
            details: { reason: error.message },
          });
      },
    });
    if (this.engineReachable) this.deps.state.setEngine({ reachable: true, since: clock.now() });
    await this.initialSync();
    this.startWorkers();
    this.scheduleResync();
  }

  /** One pass over every app: reconcile each until it converges or fails (no retries). */
  async runOnce(): Promise<Map<string, ReconcileResult>> {
    await this.initialSync();
    this.startWorkers({ retry: false });
    await this.idle();
    await this.stop();
    return this.results;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelResync?.();
    this.deps.events.close();
    await this.watcher?.close();
    this.abort.abort(new Error('berth is shutting down'));
    this.deps.queue.shutDown();
    await Promise.allSettled(this.workers);
    await this.deps.state.flush();
  }

  /** Files with problems, as last said: an event when a file turns invalid, and when it is valid again. */
  private invalidFiles = new Map<string, ManifestProblem>();

  private sayProblems(problems: readonly ManifestProblem[]): void {
    const notify = this.deps.notify;
    const now = new Map(problems.map((p) => [p.file, p]));
    for (const [file, problem] of now) {
      if (this.invalidFiles.has(file)) continue;
      notify?.emit({
        type: 'manifest.invalid',
        ...(problem.app !== undefined ? { app: problem.app } : {}),
        message: formatProblem(problem),
        details: { file, line: problem.line, col: problem.col, problem: problem.message },
      });
    }
    for (const [file, problem] of this.invalidFiles) {
      if (!now.has(file))
        notify?.emit({
          type: 'manifest.valid',
          ...(problem.app !== undefined ? { app: problem.app } : {}),
          message: `${file} is valid again`,
          details: { file },
        });
    }
    this.invalidFiles = now;
  }

  /** Re-reads the manifests now (a git source swapped in a new tree) and queues what changed. */
  refreshManifests(): Promise<void> {
    return this.readManifests();
  }

  /** Queues `names` for a reconcile, as an event about them would (e.g. a certificate changed). */
  requeue(names: Iterable<string>): void {
    for (const name of names) this.deps.queue.add(name);
  }

  /** Never waits: the engine is probed in the background, and a hang shows on a later call. */
  readiness(): Readiness {
    this.deps.events.probe();
    const reasons: string[] = [];
    if (!this.synced) reasons.push('the initial sync has not finished');
    if (!this.engineReachable)
      reasons.push(`the Docker engine is unreachable: ${this.deps.state.engine()?.error ?? 'unknown error'}`);
    const stateFailure = this.deps.state.writeFailure();
    if (stateFailure)
      reasons.push(
        `${stateFailure.message} (since ${new Date(stateFailure.since).toISOString()}; berth goes on from memory and retries)`,
      );
    return { ready: reasons.length === 0, reasons, engineReachable: this.engineReachable };
  }

  /**
   * Reads the directory and queues the apps a reconcile would change, judged as the resync
   * judges them (one look at the host): a start over a converged host reconciles nothing. The
   * first read's changes are not queued (every app is new to it). Apps in sync count as results
   * with their recorded phase, so `runOnce` reports every app.
   */
  private async initialSync(): Promise<void> {
    const { state, queue, logger, desired } = this.deps;
    // The host is looked at first: who holds a contested port or domain is judged on it.
    const view = await this.deps.reconciler.observeHost();
    desired.setHostClaims((app, claim) => view.holds(app, claim));
    await this.readManifests();
    this.changedBeforeSync.clear();
    const names = this.knownApps(view);
    const drifted = new Set(await this.outOfSync(view, names));
    for (const name of [...drifted].sort()) queue.add(name);
    for (const name of names) {
      const phase = state.get(name)?.phase;
      if (!drifted.has(name) && phase !== undefined) this.results.set(name, { phase, failed: false });
    }
    logger.info(
      { source: 'start', apps: names.size, drifted: drifted.size },
      `start: ${drifted.size} of ${names.size} apps to reconcile, the rest in sync`,
    );
    for (const name of this.changedBeforeSync) queue.retryNow(name);
    this.changedBeforeSync.clear();
    this.synced = true;
  }

  /** Every app berth knows of: named by a manifest, present on the host, or in its state. */
  private knownApps(view: HostView): Set<string> {
    return new Set([...this.deps.desired.names(), ...view.apps(), ...this.deps.state.names()]);
  }

  /** The apps among `names` a reconcile would change, judged on `view`; an app being reconciled now is left to that reconcile. */
  private async outOfSync(view: HostView, names: Iterable<string>): Promise<string[]> {
    const drifted: string[] = [];
    for (const name of names) if (!this.deps.queue.inFlight(name) && !(await view.isInSync(name))) drifted.push(name);
    return drifted;
  }

  /** Re-reads the directory (one read at a time; a change during a read triggers another) and enqueues what changed. */
  private readManifests(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.readAgain = false;
        const set = await this.deps.manifests.read().catch((error: unknown) => {
          this.deps.logger.error(
            { source: 'manifests', err: error },
            'reading the manifest directory failed; keeping the last desired state',
          );
          return undefined;
        });
        if (!set) return;
        const changed = this.deps.desired.update(set);
        const problems = new Set([...set.problems, ...set.warnings].map(formatProblem));
        for (const problem of problems)
          if (!this.reportedProblems.has(problem)) this.deps.logger.warn({ source: 'manifests', problem }, problem);
        this.sayProblems(set.problems);
        this.reportedProblems = problems;
        if (changed.length > 0)
          this.deps.logger.info(
            { source: 'manifests', apps: changed.length === 1 ? changed[0] : changed.length },
            `manifests changed: ${changed.join(', ')}`,
          );
        if (this.synced) for (const name of changed) this.deps.queue.retryNow(name);
        else for (const name of changed) this.changedBeforeSync.add(name);
        if (changed.length > 0) this.deps.onDesiredChange?.(changed);
        await this.watcher?.recheck();
      } while (this.readAgain);
    })().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /**
   * Re-reads the directory and queues the apps that drifted, judged on one look at the host
   * (a few engine calls, whatever the number of apps); apps in sync are not reconciled. After an
   * engine outage every app is queued and its backoff cancelled instead, since failures while
   * the engine was away say nothing about it.
   */
  private async resync(afterOutage = false): Promise<void> {
    const { desired, queue, reconciler, logger } = this.deps;
    this.deps.events.probe();
    try {
      await this.readManifests();
      if (afterOutage) {
        // Apps with a manifest first: an engine that is slow to list right after a restart must not keep them in backoff.
        for (const name of desired.names()) queue.retryNow(name);
        for (const app of (await reconciler.observeHost()).apps()) queue.retryNow(app);
        return;
      }
      const view = await reconciler.observeHost();
      const names = this.knownApps(view);
      // An app being reconciled now is skipped: its reconcile ends by observing the engine itself,
      // and a view taken mid-rollout would only queue it once more.
      const drifted = await this.outOfSync(view, names);
      for (const name of drifted) queue.add(name);
      logger.debug(
        { source: 'resync', apps: names.size, drifted: drifted.length },
        `resync: ${drifted.length} of ${names.size} apps drifted`,
      );
    } catch (error) {
      logger.warn({ source: 'resync', err: error }, 'resync failed');
    }
  }

  /** Set by stop(): a resync under way then must not schedule the next one (its timer would keep the process alive). */
  private stopping = false;

  private scheduleResync(): void {
    if (this.stopping) return;
    this.cancelResync = this.deps.clock.schedule(() => {
      void this.resync().finally(() => this.scheduleResync());
    }, this.options.resyncSeconds * 1000);
  }

  private startWorkers(mode: { retry: boolean } = { retry: true }): void {
    this.workers = Array.from({ length: this.options.concurrency }, () => this.work(mode.retry));
  }

  private async work(retry: boolean): Promise<void> {
    const { queue, reconciler, logger } = this.deps;
    const metrics = this.deps.metrics ?? noMetrics;
    const observe = (name: string, outcome: ReconcileOutcome, begin: number) =>
      metrics.reconciled(name, outcome, (this.deps.clock.now() - begin) / 1000);
    for (;;) {
      const name = await queue.get();
      if (name === undefined) return;
      const begin = this.deps.clock.now();
      try {
        const result = await reconciler.reconcile(name, this.abort.signal);
        this.results.set(name, result);
        observe(
          name,
          result.failed ? 'error' : result.requeueAfterMs !== undefined ? 'requeue_after' : 'success',
          begin,
        );
        logger.debug(
          { app: name, phase: result.phase, failed: result.failed, durationMs: this.deps.clock.now() - begin },
          'reconciled',
        );
        if (result.failed) {
          if (retry) {
            logger.info(
              { app: name, retryInMs: queue.nextBackoff(name) },
              `${name}: retrying in ${Math.round(queue.nextBackoff(name) / 1000)}s`,
            );
            queue.addRateLimited(name);
          }
        } else {
          queue.forget(name);
          if (result.requeueAfterMs !== undefined) queue.addAfter(name, result.requeueAfterMs);
        }
      } catch (error) {
        if (this.abort.signal.aborted) return;
        observe(name, 'error', begin);
        this.results.set(name, { phase: this.deps.state.get(name)?.phase ?? 'Failed', failed: true });
        logger.error({ app: name, err: error }, `${name}: reconcile failed: ${(error as Error).message}`);
        if (retry) queue.addRateLimited(name);
      } finally {
        queue.done(name);
        if (queue.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    }
  }

  private idle(): Promise<void> {
    if (this.deps.queue.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
