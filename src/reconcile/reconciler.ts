/**
 * Reconciles one app: observe (manifest + Docker + state) -> plan (pure) -> execute -> record,
 * repeated until the plan has nothing left to do now. Level-triggered: it never looks at what
 * event caused it to run. The controller guarantees one reconcile per app at a time.
 */
import type { Logger } from '../util/logger.js';
import type { Clock } from '../util/clock.js';
import type { Runtime } from '../runtime/types.js';
import { PullError, RuntimeError } from '../runtime/errors.js';
import type { StateStore } from '../state/store.js';
import type { Phase } from '../state/types.js';
import type { Desired, Observation, Plan } from './actions.js';
import { DeployFailedError } from './errors.js';
import { executePlan } from './execute.js';
import { observeApp, observeWith } from './observe.js';
import type { HostSnapshot } from './host-snapshot.js';
import { isInSync } from './in-sync.js';
import { servingEndpoints, type TrafficRouter } from './traffic.js';
import { ProxyError } from '../proxy/errors.js';
import type { App } from '../manifest/types.js';
import type { ContainerSummary } from '../runtime/types.js';
import { planApp } from './plan.js';
import { releasableTags } from './retention.js';
import { noMetrics, type ControllerMetrics } from '../metrics/types.js';

export interface ReconcilerDeps {
  runtime: Runtime;
  clock: Clock;
  logger: Logger;
  state: StateStore;
  traffic: TrafficRouter;
  /** The app's desired state as the manifest directory determines it now. */
  desired(name: string): Desired;
  metrics?: ControllerMetrics;
}

export interface ReconcilerOptions {
  namespace: string;
  proxy: boolean;
  stopTimeoutSeconds: number;
  /** Deployed revisions whose pulled or mirrored images stay tagged, for rollbacks without a pull. */
  keepRevisions: number;
}

export interface ReconcileResult {
  phase: Phase;
  /** The reconcile failed and should be retried with backoff. */
  failed: boolean;
  /** Reconcile again after this long (retirement due). */
  requeueAfterMs?: number;
  /** The app has no manifest and no containers left. */
  gone?: boolean;
}

/** Observe-plan-execute rounds per reconcile; a rollout needs two (act, then confirm). */
const MAX_ROUNDS = 4;

export class Reconciler {
  constructor(
    private readonly deps: ReconcilerDeps,
    private readonly options: ReconcilerOptions,
  ) {}

  async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult> {
    const { clock, state } = this.deps;
    const logger = this.deps.logger.child({ app: name });
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const observation = await observeApp(this.deps, this.options, name);
      const plan = planApp(observation);
      if (plan.refused !== undefined) {
        logger.warn({ step: 'plan', reason: plan.refused }, `Refusing to deploy ${name}: ${plan.refused}`);
        this.record(name, observation, plan.outcome.phase, plan.outcome.message, plan.refused);
        return { phase: plan.outcome.phase, failed: true };
      }
      if (plan.actions.length === 0) return this.settle(name, observation, plan, logger);

      const begin = clock.now();
      // Every line of a rollout carries its revision, as the history entry does.
      const stepLogger = plan.rollout ? logger.child({ revision: plan.rollout.revision }) : logger;
      let endpoints: string[] = [];
      if (plan.rollout) {
        const ref = `${plan.rollout.image}:${plan.rollout.tag}`;
        this.record(name, observation, 'Deploying', `deploying ${ref}`);
        stepLogger.info({ step: 'release', image: ref }, `Releasing ${name} (${ref})...`);
        stepLogger.info({ step: 'deploy', strategy: plan.rollout.strategy }, `Deploying ${name} (${ref})...`);
      }
      try {
        await executePlan(plan, {
          runtime: this.deps.runtime,
          clock,
          logger: stepLogger,
          ...(observation.desired.kind === 'present' ? { app: observation.desired.app } : {}),
          observed: observation.containers,
          stopTimeoutSeconds: this.options.stopTimeoutSeconds,
          onSwitch: async (revision) => {
            if (observation.desired.kind === 'present') endpoints = await this.route(observation.desired.app, revision);
            this.switched(name, plan, revision);
          },
          onTagged: (ref) => this.owned(name, ref),
          signal,
        });
      } catch (error) {
        if (signal.aborted) throw error;
        return this.fail(name, observation, plan, error, begin, logger);
      }
      if (plan.gone) {
        await this.deps.traffic.unroute(name);
        state.delete(name);
        logger.info({ step: 'remove' }, `Removed ${name}: its manifest is gone`);
        return { phase: 'Running', failed: false, gone: true };
      }
      if (plan.rollout) {
        const durationMs = clock.now() - begin;
        state.appendHistory(name, { at: clock.now(), tag: plan.rollout.tag, image: plan.rollout.image, imageId: plan.rollout.imageId, revision: plan.rollout.revision, outcome: 'succeeded', durationMs });
        state.clear(name, ['lastError']);
        (this.deps.metrics ?? noMetrics).deployed(name, 'succeeded');
        await this.releaseOldImages(name, observation, logger);
        if (plan.requeueAfterMs !== undefined) stepLogger.info({ step: 'retire', seconds: plan.requeueAfterMs / 1000 }, `Shutting down old containers in ${plan.requeueAfterMs / 1000} seconds`);
        const urls = observation.desired.kind === 'present' ? this.deps.traffic.urls(observation.desired.app, endpoints) : [];
        stepLogger.info({ step: 'deployed', durationMs, image: `${plan.rollout.image}:${plan.rollout.tag}`, urls }, `Application deployed: ${name} (${plan.rollout.image}:${plan.rollout.tag})${urls.length > 0 ? ` at ${urls.join(' ')}` : ''}`);
      }
    }
    return { phase: 'Deploying', failed: false, requeueAfterMs: 1000 };
  }

  /**
   * Whether a reconcile of `name` would change nothing, judged on `snapshot` without asking the
   * engine; a serving app's route is checked too (the proxy's own files are read).
   */
  async isInSync(name: string, snapshot: HostSnapshot): Promise<boolean> {
    const observation = await observeWith(this.deps, this.options, name, snapshot.containersOf(name), snapshot);
    const record = this.deps.state.get(name);
    if (!isInSync(observation, record)) return false;
    const serving = record?.servingRevision;
    if (observation.desired.kind !== 'present' || serving === undefined) return true;
    const { app } = observation.desired;
    return this.deps.traffic.isRouted(app, servingEndpoints(app, serving, observation.containers));
  }

  private async settle(name: string, observation: Observation, plan: Plan, logger: Logger): Promise<ReconcileResult> {
    if (plan.gone) {
      await this.deps.traffic.unroute(name);
      this.deps.state.delete(name);
      return { phase: 'Running', failed: false, gone: true };
    }
    const serving = this.deps.state.get(name)?.servingRevision;
    if (observation.desired.kind === 'present' && serving !== undefined) {
      try {
        await this.route(observation.desired.app, serving, observation.containers);
      } catch (error) {
        if (!(error instanceof ProxyError)) throw error;
        return this.fail(name, observation, plan, error, this.deps.clock.now(), logger);
      }
    }
    const { phase, message } = plan.outcome;
    this.record(name, observation, phase, message);
    return { phase, failed: false, ...(plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {}) };
  }

  /** Points the app's traffic at the running containers of `revision`; resolves with their endpoints. */
  private async route(app: App, revision: string, known?: ContainerSummary[]): Promise<string[]> {
    const containers = known ?? (await this.deps.runtime.listContainers(this.options.namespace, app.name));
    const endpoints = servingEndpoints(app, revision, containers);
    await this.deps.traffic.route(app, endpoints);
    return endpoints;
  }

  private owned(name: string, ref: string): void {
    const owned = this.deps.state.get(name)?.ownedTags ?? [];
    if (!owned.includes(ref)) this.deps.state.update(name, { ownedTags: [...owned, ref] }, this.deps.clock.now());
  }

  /** Untags what berth pulled or mirrored for revisions older than the last `keepRevisions`; a failure only warns. */
  private async releaseOldImages(name: string, observation: Observation, logger: Logger): Promise<void> {
    const record = this.deps.state.get(name);
    if (!record?.ownedTags?.length) return;
    const desired = observation.desired.kind === 'present' ? observation.desired.app.spec : undefined;
    const releasable = releasableTags({
      history: record.history,
      owned: record.ownedTags,
      keep: this.options.keepRevisions,
      localRepository: `${this.options.namespace}/${name}`,
      ...(desired ? { desired: { image: desired.image, tag: desired.tag } } : {}),
    });
    const released: string[] = [];
    for (const ref of releasable) {
      try {
        await this.deps.runtime.untagImage(ref);
        released.push(ref);
      } catch (error) {
        if (!(error instanceof RuntimeError)) throw error;
        logger.warn({ step: 'release', image: ref, reason: error.message }, `Could not untag ${ref}; will try after the next deploy`);
      }
    }
    if (released.length === 0) return;
    this.deps.state.update(name, { ownedTags: record.ownedTags.filter((ref) => !released.includes(ref)) }, this.deps.clock.now());
    logger.info({ step: 'release', images: released, keepRevisions: this.options.keepRevisions }, `Untagged ${released.join(', ')} (older than the last ${this.options.keepRevisions} deployed revisions)`);
  }

  private switched(name: string, plan: Plan, revision: string): void {
    if (this.deps.state.get(name)?.servingRevision === revision || !plan.rollout) return;
    this.deps.state.update(name, { servingRevision: revision, servingImageId: plan.rollout.imageId, servingTag: plan.rollout.tag, switchedAt: this.deps.clock.now() }, this.deps.clock.now());
  }

  private async fail(name: string, observation: Observation, plan: Plan, error: unknown, begin: number, logger: Logger): Promise<ReconcileResult> {
    if (!(error instanceof DeployFailedError || error instanceof RuntimeError || error instanceof ProxyError)) throw error;
    const { clock, state, runtime } = this.deps;
    const serving = await runtime
      .listContainers(this.options.namespace, name)
      .then((containers) => containers.some((c) => c.state === 'running'))
      .catch(() => observation.containers.some((c) => c.state === 'running'));
    const phase: Phase = error instanceof PullError ? 'Pending' : serving ? 'Degraded' : 'Failed';
    const message = error instanceof DeployFailedError ? `deploy failed: ${error.message}` : error.message;
    this.record(name, observation, phase, message, message);
    if (plan.rollout) {
      state.appendHistory(name, { at: clock.now(), tag: plan.rollout.tag, image: plan.rollout.image, imageId: plan.rollout.imageId, revision: plan.rollout.revision, outcome: 'failed', reason: message, durationMs: clock.now() - begin });
      (this.deps.metrics ?? noMetrics).deployed(name, 'failed');
    }
    logger.error({ step: plan.rollout ? 'deploy' : 'reconcile', ...(plan.rollout ? { revision: plan.rollout.revision } : {}), result: 'failed', reason: message, phase, durationMs: clock.now() - begin }, `${name}: ${message}`);
    return { phase, failed: true };
  }

  private record(name: string, observation: Observation, phase: Phase, message: string, lastError?: string): void {
    const desired = observation.desired.kind === 'present' ? observation.desired.app.spec : undefined;
    const shownPhase = observation.desired.kind === 'present' && observation.desired.invalid !== undefined ? 'Invalid' : phase;
    this.deps.state.update(
      name,
      {
        phase: shownPhase,
        message: shownPhase === 'Invalid' && observation.desired.kind === 'present' ? (observation.desired.invalid ?? message) : message,
        ...(desired ? { desiredTag: desired.tag, desiredImage: desired.image } : {}),
        ...(lastError !== undefined ? { lastError } : {}),
      },
      this.deps.clock.now(),
    );
  }
}

