/**
 * The Docker reconciler: one app at a time, observe (manifest, engine, proxy, record) -> plan
 * (pure) -> execute -> record, repeated until the plan has nothing left to do now.
 * Level-triggered: it never looks at what event caused it to run. The controller guarantees one
 * reconcile per app at a time.
 */
import type { EventSink } from '../../events/types.js';
import { imageRef } from '../../manifest/image-ref.js';
import type { ControllerMetrics } from '../../metrics/types.js';
import { ProxyError } from '../../proxy/errors.js';
import type { TrafficRouter } from '../../proxy/types.js';
import { PullError, RuntimeError } from '../../runtime/errors.js';
import type { Runtime } from '../../runtime/types.js';
import type { StateStore } from '../../state/store.js';
import type { Phase } from '../../state/types.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { DeployFailedError, ReleaseFailedError } from '../core/errors.js';
import { nothingExecuted } from '../core/outcome.js';
import type { AppPreview, AppReconciler, HostView, ReconcileResult } from '../core/reconciler.js';
import { fromCommit, originOf, Recorder } from '../core/recorder.js';
import type { Desired, Executed, Observation, Plan } from './actions.js';
import { describeDockerPlan } from './describe.js';
import { executePlan } from './execute.js';
import { HostSnapshot } from './host-snapshot.js';
import { isInSync } from './in-sync.js';
import { observeApp, observeWith, type ObserveOptions } from './observe.js';
import { planApp } from './plan.js';
import type { CanaryTraffic } from '../../proxy/access-log/canary-traffic.js';
import { previewApp } from './preview.js';
import { logFailedRound } from '../core/failed-round.js';

/** What the Docker reconciler works through: the engine, the proxy, berth's record, the manifests. */
export interface ReconcilerDeps {
  runtime: Runtime;
  clock: Clock;
  logger: Logger;
  state: StateStore;
  traffic: TrafficRouter;
  /** The app's desired state as the manifest directory determines it now. */
  desired(name: string): Desired;
  metrics?: ControllerMetrics;
  /** `berth retry` requests; none in tests that do not need them. */
  retries?: { take(name: string): Promise<boolean> };
  /** `berth promote` / `berth abort` requests; none in tests that do not need them. */
  canaryDecisions?: { take(name: string): Promise<'promote' | 'abort' | undefined> };
  /** Where what happened is said (timeline, notifications). */
  events?: EventSink;
  /** nginx's access log (with --proxy nginx): canaries are routed and judged on it; absent: deploy.canary switches at once. */
  canary?: CanaryTraffic;
}

/** berth's settings the reconciler works with (the secrets root among them: see ObserveOptions). */
export interface ReconcilerOptions extends ObserveOptions {
  stopTimeoutSeconds: number;
}

/** Observe-plan-execute rounds per reconcile; a rollout needs two (act, then confirm). */
const MAX_ROUNDS = 4;

/** The AppReconciler of one Docker engine: apps as containers berth creates, checks, switches and retires. */
export class Reconciler implements AppReconciler {
  private readonly recorder: Recorder;

  constructor(
    private readonly deps: ReconcilerDeps,
    private readonly options: ReconcilerOptions,
  ) {
    this.recorder = new Recorder(deps);
  }

  async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult> {
    const logger = this.deps.logger.child({ app: name });
    if (this.deps.retries && (await this.deps.retries.take(name))) {
      const held = this.deps.state.get(name)?.held;
      if (held)
        logger.info(
          { step: 'retry', revision: held.revision },
          `berth retry: trying ${name} again (it was held: ${held.reason})`,
        );
      this.recorder.release(name);
    }
    // A person's decision about a canary acts on this reconcile's first look, or never.
    let decision = await this.deps.canaryDecisions?.take(name);
    if (decision !== undefined) logger.info({ step: 'canary', decision }, `berth ${decision}: ${name}'s canary`);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const looked = await observeApp(this.deps, this.options, name);
      const observation = decision !== undefined ? { ...looked, canaryDecision: decision } : looked;
      decision = undefined;
      const plan = planApp(observation);
      if (plan.refused !== undefined || plan.actions.length === 0) {
        if (plan.refused !== undefined)
          logger.warn({ step: 'plan', reason: plan.refused }, `Refusing to deploy ${name}: ${plan.refused}`);
        this.recorder.ended(observation, plan, { kind: 'settled' });
        return this.resultOf(plan);
      }
      const begin = this.deps.clock.now();
      const executed = nothingExecuted();
      try {
        await this.execute(observation, plan, executed, signal, logger);
      } catch (error) {
        if (signal.aborted) throw error;
        return this.fail(observation, plan, executed, error, begin, logger);
      }
      // Only looks and housekeeping (a probe of the new revision within deploy.monitor that found nothing wrong,
      // secret files swept): the app is as planned until the next look.
      if (!executed.rolledBack && plan.actions.every((a) => a.type === 'probe' || a.type === 'sweepSecrets')) {
        this.recorder.ended(observation, plan, { kind: 'settled' });
        return this.resultOf(plan);
      }
      const urls =
        plan.rollout && observation.desired.kind === 'present'
          ? this.deps.traffic.urls(observation.desired.app, executed.endpoints)
          : [];
      const repaired = plan.rollout || plan.gone ? undefined : repairOf(plan);
      this.recorder.ended(observation, plan, {
        kind: 'applied',
        executed,
        durationMs: this.deps.clock.now() - begin,
        urls,
        ...(repaired !== undefined ? { repaired } : {}),
      });
      if (plan.gone) {
        if (plan.actions.some((a) => a.type === 'retire'))
          logger.info({ step: 'remove' }, `Removed ${name}: its manifest is gone`);
        return { phase: 'Running', failed: false, gone: true };
      }
      if (plan.rollout && plan.canary?.kind !== 'step')
        this.logDeployed(observation, plan, executed, this.deps.clock.now() - begin, logger);
    }
    return { phase: 'Deploying', failed: false, requeueAfterMs: 1000 };
  }

  isWatching(name: string): boolean {
    const record = this.deps.state.get(name);
    const desired = this.deps.desired(name);
    if (
      !record?.switchedAt ||
      record.previousRevision === undefined ||
      record.previousRevision === record.servingRevision ||
      desired.kind !== 'present'
    )
      return false;
    return this.deps.clock.now() < record.switchedAt + desired.app.spec.deploy.monitor * 1000;
  }

  /**
   * One look at the host: every managed container and every image (two engine calls), and the
   * proxy's routes. Its `isInSync` runs the planner on it; a serving app's route is read from the
   * proxy's own files.
   */
  async observeHost(): Promise<HostView> {
    const snapshot = await HostSnapshot.take(this.deps.runtime, this.deps.traffic, this.options.namespace);
    return new SnapshotView(snapshot, async (name) => {
      const observation = await observeWith(
        this.deps,
        this.options,
        name,
        snapshot.containersOf(name),
        snapshot,
        snapshot,
      );
      return isInSync(observation, this.deps.state.get(name));
    });
  }

  /**
   * What `reconcile(name)` would do now: its first round's plan (a rollout takes a second round
   * to confirm, never shown), the diff of what runs against the manifest, and the plan in words.
   * The app's containers come from `host` when it is a snapshot `observeHost` took (no second
   * list); images, the proxy and the serving containers are asked afresh. Changes nothing.
   */
  async preview(name: string, host: HostView): Promise<AppPreview> {
    const listed = host instanceof SnapshotView ? host.snapshot.containersOf(name) : undefined;
    const { plan, diff, observation } = await previewApp(this.deps, this.options, name, listed);
    return { plan, diff, ...describeDockerPlan(name, plan, observation) };
  }

  private async execute(
    observation: Observation,
    plan: Plan,
    executed: Executed,
    signal: AbortSignal,
    logger: Logger,
  ): Promise<void> {
    const { name, desired } = observation;
    // Every line of a rollout carries its revision, as the history entry does.
    const stepLogger = plan.rollout ? logger.child({ revision: plan.rollout.revision }) : logger;
    // A canary's promotion ends the rollout its first step began (and said).
    if (plan.rollout && plan.canary?.kind !== 'promote') {
      const ref = imageRef(plan.rollout.image, plan.rollout.tag);
      this.recorder.deploying(observation, plan.rollout);
      stepLogger.info({ step: 'release', image: ref }, `Releasing ${name} (${ref})...`);
      const commit = originOf(observation)?.commit;
      stepLogger.info(
        { step: 'deploy', strategy: plan.rollout.strategy, ...(commit ? { commit: commit.sha } : {}) },
        `Deploying ${name} (${ref})${fromCommit(observation)}...`,
      );
    }
    await executePlan(
      plan,
      {
        runtime: this.deps.runtime,
        traffic: this.deps.traffic,
        clock: this.deps.clock,
        logger: stepLogger,
        namespace: this.options.namespace,
        name,
        ...(desired.kind === 'present' ? { app: desired.app } : {}),
        observed: observation.containers,
        stopTimeoutSeconds: this.options.stopTimeoutSeconds,
        onSwitched: (revision) => this.recorder.switched(name, plan, revision),
        onReleased: (revision) => this.recorder.released(name, revision),
        onRolledBack: (from, to, reason) => this.recorder.rolledBack(name, from, to, reason),
        onCanaryStep: (step) => this.recorder.canaryStep(name, step),
        ...(this.deps.canary ? { accessLog: this.deps.canary.target } : {}),
        signal,
      },
      executed,
    );
  }

  private resultOf(plan: Plan): ReconcileResult {
    // A crash-looping serving revision is a failure: the controller backs off looking at it.
    if (plan.refused !== undefined || plan.crashLoop !== undefined) return { phase: plan.outcome.phase, failed: true };
    if (plan.gone) return { phase: 'Running', failed: false, gone: true };
    return {
      phase: plan.outcome.phase,
      failed: false,
      ...(plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {}),
    };
  }

  private logDeployed(
    observation: Observation,
    plan: Plan,
    executed: Executed,
    durationMs: number,
    logger: Logger,
  ): void {
    const { rollout } = plan;
    if (!rollout) return;
    const stepLogger = logger.child({ revision: rollout.revision });
    const ref = imageRef(rollout.image, rollout.tag);
    if (plan.requeueAfterMs !== undefined)
      stepLogger.info(
        { step: 'retire', seconds: plan.requeueAfterMs / 1000 },
        `Shutting down old containers in ${plan.requeueAfterMs / 1000} seconds`,
      );
    const urls =
      observation.desired.kind === 'present' ? this.deps.traffic.urls(observation.desired.app, executed.endpoints) : [];
    const commit = originOf(observation)?.commit;
    const from = fromCommit(observation);
    stepLogger.info(
      { step: 'deployed', durationMs, image: ref, urls, ...(commit ? { commit: commit.sha } : {}) },
      `Application deployed: ${observation.name} (${ref})${from}${urls.length > 0 ? ` at ${urls.join(' ')}` : ''}`,
    );
  }

  private async fail(
    observation: Observation,
    plan: Plan,
    executed: Executed,
    error: unknown,
    begin: number,
    logger: Logger,
  ): Promise<ReconcileResult> {
    if (!(error instanceof DeployFailedError || error instanceof RuntimeError || error instanceof ProxyError))
      throw error;
    const { clock, runtime } = this.deps;
    const { name } = observation;
    const serving = await runtime
      .listContainers(this.options.namespace, name)
      .then((containers) => containers.some((c) => c.state === 'running'))
      .catch(() => observation.containers.some((c) => c.state === 'running'));
    const phase: Phase = error instanceof PullError ? 'Pending' : serving ? 'Degraded' : 'Failed';
    const message = error instanceof DeployFailedError ? `deploy failed: ${error.message}` : error.message;
    const durationMs = clock.now() - begin;
    this.recorder.ended(observation, plan, {
      kind: 'failed',
      executed,
      phase,
      message,
      durationMs,
      ...(error instanceof ReleaseFailedError ? { output: error.output } : {}),
    });
    // A failed release (a migration) is not run again by itself: the revision is held.
    if (error instanceof ReleaseFailedError && plan.rollout)
      this.recorder.hold(name, plan.rollout.revision, error.message);
    logFailedRound(logger, name, plan, { message, phase, durationMs });
    return { phase, failed: true };
  }
}

/**
 * The HostView of one snapshot: apps and claims read from it, `isInSync` judged on it; `preview`
 * reads an app's containers from it.
 */
class SnapshotView implements HostView {
  readonly holds: HostView['holds'];

  constructor(
    readonly snapshot: HostSnapshot,
    readonly isInSync: HostView['isInSync'],
  ) {
    this.holds = snapshot.holds;
  }

  apps(): string[] {
    return this.snapshot.apps();
  }
}

/**
 * What a plan without a rollout put right that had drifted (a replica replaced, a proxy block
 * rewritten), in words; undefined for routine work.
 */
function repairOf(plan: Plan): string | undefined {
  const repairs = plan.actions.filter(
    (a) =>
      a.type === 'create' || a.type === 'route' || (a.type === 'remove' && /is (exited|dead|created)/.test(a.reason)),
  );
  if (repairs.length === 0) return undefined;
  return [
    ...new Set(
      repairs.map((a) =>
        a.type === 'create'
          ? `created ${a.spec.name} (${a.reason})`
          : a.type === 'route'
            ? `rewrote the proxy route (${a.reason})`
            : `removed ${a.type === 'remove' ? a.container.name : ''} (${a.reason})`,
      ),
    ),
  ].join('; ');
}
