/**
 * The Swarm reconciler: one app as one replicated service. observe (manifest, service, tasks,
 * secrets, the tag's digest, berth's hold) -> plan (pure, plan.ts) -> execute (execute.ts) ->
 * record once, through the same Recorder as the Docker reconciler: the start of a rollout and the
 * moment Swarm completes it are recorded as they happen, everything else when the reconcile ends.
 *
 * A push to `--swarm-registry` is a round of its own (the spec names the digest the push gives):
 * after it the app is observed and planned once more in the same reconcile, a bounded loop of two
 * rounds, never a recursion. A rollout Swarm rolled back (or paused), or that berth had Swarm roll
 * back past deploy.progressDeadline, is recorded as failed and its revision held. Once Swarm has
 * completed a rollout, the next pass watches the new tasks for deploy.monitor; a failure there
 * rolls the service back, recorded as rolled back and held. A watch ends as soon as the app's
 * manifest changes: the next pass (queued by that change) plans from it.
 *
 * A berth with no record of an app (its state directory is new, or it runs on another manager)
 * judges it from the swarm alone: the service's labels, spec, previous spec and update status,
 * and the hold kept on the service. It sends nothing to a service that runs the manifest's
 * revision, nor a revision the swarm shows held; the app's history starts there, and it says so.
 */
import { imageRef } from '../../manifest/image-ref.js';
import type { ControllerMetrics } from '../../metrics/types.js';
import type { EventSink } from '../../events/types.js';
import { directTraffic } from '../../proxy/direct.js';
import { ProxyError } from '../../proxy/errors.js';
import type { TrafficRouter } from '../../proxy/types.js';
import { RuntimeError } from '../../runtime/errors.js';
import { ReleaseFailedError } from '../core/errors.js';
import type { ServiceRuntime } from '../../runtime/services.js';
import type { StateStore } from '../../state/store.js';
import type { Phase } from '../../state/types.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { Desired } from '../core/desired.js';
import { fromCommit, originOf, Recorder } from '../core/recorder.js';
import type { AppPreview, AppReconciler, HostView, ReconcileResult } from '../core/reconciler.js';
import { serviceHashOf, type SwarmObservation, type SwarmPlan } from './actions.js';
import { describeNotes, describeSteps } from './describe.js';
import { desiredChange } from './desired-change.js';
import { executeSwarmPlan, nothingExecutedOnSwarm, RolloutFailed, type SwarmExecuted } from './execute.js';
import {
  heldImage,
  listingOf,
  listSwarm,
  observeService,
  pinnedBy,
  type SwarmListing,
  type SwarmObserveDeps,
} from './observe.js';
import { heldBySwarm, heldReference } from './hold.js';
import { planService } from './plan.js';
import { serviceName } from './service-spec.js';
import { serviceDiff } from './shapes.js';
import { logFailedRound } from '../core/failed-round.js';

export interface SwarmReconcilerDeps {
  services: ServiceRuntime;
  /** The proxy in front of the apps' tasks (directTraffic when none). */
  traffic?: TrafficRouter;
  clock: Clock;
  logger: Logger;
  state: StateStore;
  /** The app's desired state as the manifest directory determines it now. */
  desired(name: string): Desired;
  metrics?: ControllerMetrics;
  /** `berth retry` requests; none in tests that do not need them. */
  retries?: { take(name: string): Promise<boolean> };
  /** Where what happened is said (timeline, notifications). */
  events?: EventSink;
  /**
   * This replica's role in the lease, asked at each observation (leader election: a standby plans
   * only its own node's proxy); absent: the leader (one berth alone).
   */
  role?: () => 'leader' | 'standby';
}

export interface SwarmReconcilerOptions {
  namespace: string;
  /** `--swarm-registry`: where images only this host has are pushed, so every node can pull them. */
  registry?: string;
  stopTimeoutSeconds: number;
  /** How often a rollout is looked at while it runs. */
  pollMs?: number;
}

/** Rounds per reconcile: one, and one more after a push. */
const MAX_ROUNDS = 2;

export class SwarmReconciler implements AppReconciler {
  private readonly recorder: Recorder;
  /** The listing each host view was judged on, for a preview on that view. */
  private readonly listings = new WeakMap<HostView, SwarmListing>();
  /** Apps `berth retry` released whose spec was not sent since: the swarm's hold of them is passed over. */
  private readonly retried = new Set<string>();

  constructor(
    private readonly deps: SwarmReconcilerDeps,
    private readonly options: SwarmReconcilerOptions,
  ) {
    this.recorder = new Recorder({
      state: deps.state,
      clock: deps.clock,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      ...(deps.events ? { events: deps.events } : {}),
    });
  }

  /** Every app with a service or a Docker secret in the namespace. */
  async apps(): Promise<string[]> {
    const { namespace } = this.options;
    const [services, secrets] = await Promise.all([
      this.deps.services.listServices(namespace),
      this.deps.services.listSecrets(namespace),
    ]);
    return [...new Set([...services.map((s) => s.app), ...secrets.map((s) => s.app)])];
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
      this.retried.add(name);
    }
    for (let round = 1; ; round++) {
      const observation = await this.observeApp(name);
      const plan = planService(observation);
      if (round === 1) this.adopt(observation, plan, logger);
      if (plan.gone) this.retried.delete(name);
      if (plan.refused !== undefined || plan.actions.length === 0) {
        if (plan.refused !== undefined)
          logger.warn({ step: 'plan', reason: plan.refused }, `Refusing to deploy ${name}: ${plan.refused}`);
        this.recorder.ended(observation, plan, { kind: 'settled' });
        return resultOf(plan);
      }
      const begin = this.deps.clock.now();
      const executed = nothingExecutedOnSwarm();
      try {
        await this.execute(observation, plan, executed, signal, logger);
      } catch (error) {
        if (signal.aborted) throw error;
        return this.fail(observation, plan, executed, error, begin, logger);
      } finally {
        if (plan.actions.some((a) => a.type === 'create' || a.type === 'update')) this.retried.delete(name);
      }
      if (executed.superseded !== undefined && !executed.rolledBack)
        return this.superseded(observation, plan, executed.superseded, logger);
      // The image is in the swarm's registry now: the next round deploys it from there by its digest.
      if (isPushOnly(plan) && round < MAX_ROUNDS) continue;
      return this.succeeded(observation, plan, executed, this.deps.clock.now() - begin, logger);
    }
  }

  /**
   * One service, task, secret and node list for the namespace; apps are judged without resolving
   * digests again (the service's pin stands for its tag). An app with Docker secrets but no service
   * and no manifest (its service went while berth was down) is out of sync: its reconcile removes them.
   */
  async observeHost(): Promise<HostView> {
    const listing = await listSwarm(this.observeDeps, this.options.namespace);
    const view: HostView = {
      apps: () => [...new Set([...listing.services.map((s) => s.app), ...listing.secrets.map((s) => s.app)])],
      holds: () => false,
      isInSync: async (name) => {
        const own = listingOf(listing, name);
        const [service] = own.services;
        const swarmHeld = service && !this.retried.has(name) ? heldBySwarm(service, own.tasks) : undefined;
        const observation = this.withRole(
          await observeService(
            this.observeDeps,
            this.options,
            name,
            own,
            pinnedBy(service, heldImage(this.deps.state.get(name)) ?? heldReference(swarmHeld?.image)),
          ),
        );
        const plan = planService(observation);
        const record = this.deps.state.get(name);
        if (plan.actions.length > 0 || plan.refused !== undefined || this.retried.has(name)) return false;
        if (plan.hold && record?.held?.revision !== plan.hold.revision) return false;
        if (plan.gone) return record === undefined;
        return record !== undefined && record.phase === plan.outcome.phase && record.message === plan.outcome.message;
      },
    };
    this.listings.set(view, listing);
    return view;
  }

  /**
   * What a reconcile of `name` would do now, on the listing `host` was taken with (a fresh one for a
   * view this reconciler did not make); the image is located as a reconcile would (its registry's
   * digest). Changes nothing.
   */
  async preview(name: string, host: HostView): Promise<AppPreview> {
    const listing = this.listings.get(host) ?? (await listSwarm(this.observeDeps, this.options.namespace));
    const observation = this.withRole(
      await observeService(this.observeDeps, this.options, name, listingOf(listing, name), (ref) =>
        this.deps.services.locateImage(ref),
      ),
    );
    const plan = planService(observation);
    return {
      plan,
      diff: serviceDiff(observation, plan),
      steps: describeSteps(plan),
      notes: describeNotes(plan),
    };
  }

  private async observeApp(name: string): Promise<SwarmObservation> {
    const listing = await listSwarm(this.observeDeps, this.options.namespace, name);
    const observation = await observeService(this.observeDeps, this.options, name, listing, (ref) =>
      this.deps.services.locateImage(ref),
    );
    return this.withRole(observation);
  }

  /** The observation with this replica's role in the lease, when there is a lease. */
  private withRole(observation: SwarmObservation): SwarmObservation {
    return this.deps.role ? { ...observation, role: this.deps.role() } : observation;
  }

  private async execute(
    observation: SwarmObservation,
    plan: SwarmPlan,
    executed: SwarmExecuted,
    signal: AbortSignal,
    logger: Logger,
  ): Promise<void> {
    const { name, desired } = observation;
    const changed = desiredChange(desired);
    // Every line of a rollout carries its revision, as the history entry does.
    const stepLogger = plan.rollout ? logger.child({ revision: plan.rollout.revision }) : logger;
    if (plan.rollout) {
      const ref = imageRef(plan.rollout.image, plan.rollout.tag);
      this.recorder.deploying(observation, plan.rollout);
      const commit = originOf(observation)?.commit;
      stepLogger.info(
        {
          step: 'deploy',
          strategy: plan.rollout.strategy,
          runtime: 'swarm',
          ...(commit ? { commit: commit.sha } : {}),
        },
        `Deploying ${name} (${ref})${fromCommit(observation)} as service ${serviceName(this.options.namespace, name)}...`,
      );
    }
    await executeSwarmPlan(
      plan,
      {
        services: this.deps.services,
        traffic: this.traffic,
        clock: this.deps.clock,
        logger: stepLogger,
        namespace: this.options.namespace,
        name,
        ...(desired.kind === 'present' ? { app: desired.app } : {}),
        pollMs: this.pollMs,
        onRolledOut: () => {
          if (plan.rollout) this.recorder.switched(name, plan, plan.rollout.revision);
        },
        onRolledBack: (from, to, reason, serviceHash) => {
          this.recorder.rolledBack(name, from, to, reason);
          this.recorder.hold(name, from, reason, serviceHash);
        },
        superseded: () => changed(this.deps.desired(name)),
        onReleased: (revision) => this.recorder.released(name, revision),
        signal,
      },
      executed,
    );
  }

  private succeeded(
    observation: SwarmObservation,
    plan: SwarmPlan,
    executed: SwarmExecuted,
    durationMs: number,
    logger: Logger,
  ): ReconcileResult {
    const { name, desired } = observation;
    const urls = plan.rollout && desired.kind === 'present' ? this.traffic.urls(desired.app, executed.endpoints) : [];
    const repaired = plan.rollout || plan.gone ? undefined : repairOf(plan);
    this.recorder.ended(observation, plan, {
      kind: 'applied',
      executed,
      durationMs,
      urls,
      ...(repaired !== undefined ? { repaired } : {}),
    });
    if (plan.gone) {
      if (plan.actions.some((a) => a.type === 'remove'))
        logger.info(
          { step: 'remove' },
          `Removed service ${serviceName(this.options.namespace, name)}: its manifest is gone`,
        );
      return { phase: 'Running', failed: false, gone: true };
    }
    if (executed.rolledBack) return { phase: 'Degraded', failed: false, requeueAfterMs: 0 };
    if (plan.rollout) {
      const ref = imageRef(plan.rollout.image, plan.rollout.tag);
      const commit = originOf(observation)?.commit;
      logger
        .child({ revision: plan.rollout.revision })
        .info(
          { step: 'deployed', durationMs, image: ref, urls, ...(commit ? { commit: commit.sha } : {}) },
          `Application deployed: ${name} (${ref})${fromCommit(observation)}${urls.length > 0 ? ` at ${urls.join(' ')}` : ''}`,
        );
    }
    return resultOf(plan);
  }

  /**
   * A watch ended because the app's manifest changed: what was sent stands (Swarm goes on rolling
   * it out), nothing is judged of it, and the next pass plans from the new manifest at once.
   */
  private superseded(observation: SwarmObservation, plan: SwarmPlan, why: string, logger: Logger): ReconcileResult {
    const { name } = observation;
    const outcome = plan.rollout
      ? {
          phase: 'Deploying' as const,
          message: `the manifest changed while Swarm rolled out ${imageRef(plan.rollout.image, plan.rollout.tag)}; planning again`,
        }
      : plan.outcome;
    logger.info({ step: 'watch', result: 'superseded' }, `${name}: the watch ended early: ${why}`);
    this.recorder.ended(observation, { outcome }, { kind: 'settled' });
    return { phase: outcome.phase, failed: false, requeueAfterMs: 0 };
  }

  /**
   * A berth with no record of an app that has a service (its state directory is new, or it runs
   * on another manager): the app's history starts here, and the log says so. A service that runs
   * the manifest's revision is recorded as serving it; a hold the swarm shows is recorded as
   * berth's too, so `status` and `berth retry` see it.
   */
  private adopt(observation: SwarmObservation, plan: SwarmPlan, logger: Logger): void {
    const { name, service, desired } = observation;
    const record = this.deps.state.get(name);
    if (!record && service && desired.kind === 'present') {
      logger.info(
        { step: 'adopt', service: service.name, image: service.image, update: service.update.state },
        `${name}: history starts here: this berth has no record of earlier deploys; service ${service.name} runs ${service.image} (judged from the swarm: its labels, spec, previous spec and update status)`,
      );
      if (plan.runs) this.recorder.switched(name, { ...plan, rollout: plan.runs }, plan.runs.revision);
    }
    if (plan.hold && this.deps.state.get(name)?.held?.revision !== plan.hold.revision)
      this.recorder.hold(name, plan.hold.revision, plan.hold.reason, plan.hold.serviceHash);
  }

  /** A failed action: recorded as failed (a rollout Swarm rolled back is held), the round's result Degraded or Failed. */
  private async fail(
    observation: SwarmObservation,
    plan: SwarmPlan,
    executed: SwarmExecuted,
    error: unknown,
    begin: number,
    logger: Logger,
  ): Promise<ReconcileResult> {
    if (
      !(
        error instanceof RolloutFailed ||
        error instanceof ReleaseFailedError ||
        error instanceof RuntimeError ||
        error instanceof ProxyError
      )
    )
      throw error;
    const { name } = observation;
    const remaining = await this.deps.services.listTasks(this.options.namespace, name).catch(() => observation.tasks);
    const phase: Phase = remaining.some((t) => t.state === 'running' && t.desiredState === 'running')
      ? 'Degraded'
      : 'Failed';
    const message =
      error instanceof RolloutFailed || error instanceof ReleaseFailedError
        ? `deploy failed: ${error.message}`
        : error.message;
    const durationMs = this.deps.clock.now() - begin;
    const output = error instanceof ReleaseFailedError && error.output !== '' ? { output: error.output } : {};
    this.recorder.ended(observation, plan, { kind: 'failed', executed, phase, message, durationMs, ...output });
    // A failed release step (a migration) is not run again by itself: the revision is held, its service untouched.
    if (error instanceof ReleaseFailedError && plan.rollout)
      this.recorder.hold(name, plan.rollout.revision, error.message, sentServiceHash(plan));
    // Swarm rolled it back (or berth had it): not sent again by itself.
    if (error instanceof RolloutFailed && error.rolledBack && plan.rollout)
      this.recorder.hold(name, plan.rollout.revision, error.message, sentServiceHash(plan));
    logFailedRound(logger, name, plan, { message, phase, durationMs });
    return { phase, failed: true };
  }

  private get observeDeps(): SwarmObserveDeps {
    return {
      services: this.deps.services,
      traffic: this.traffic,
      state: this.deps.state,
      clock: this.deps.clock,
      desired: (name) => this.deps.desired(name),
      retried: (name) => this.retried.has(name),
    };
  }

  /** A proxy must learn of a new task before Swarm stops the old one: look often then. */
  private get pollMs(): number {
    return this.options.pollMs ?? (this.traffic === directTraffic ? 1_000 : 200);
  }

  private get traffic(): TrafficRouter {
    return this.deps.traffic ?? directTraffic;
  }
}

/** The plan only pushes: its spec comes in the next round. */
function isPushOnly(plan: SwarmPlan): boolean {
  return plan.actions.every((a) => a.type === 'push');
}

/** The service hash of the spec the plan sends or watches: what a hold remembers. */
function sentServiceHash(plan: SwarmPlan): string | undefined {
  for (const action of plan.actions)
    if (action.type === 'create' || action.type === 'update' || action.type === 'watch')
      return serviceHashOf(action.spec);
  return undefined;
}

function resultOf(plan: SwarmPlan): ReconcileResult {
  if (plan.refused !== undefined) return { phase: plan.outcome.phase, failed: true };
  if (plan.gone) return { phase: 'Running', failed: false, gone: true };
  return {
    phase: plan.outcome.phase,
    failed: false,
    ...(plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : {}),
  };
}

/** What a plan without a rollout put right that had drifted (the proxy's route), in words; undefined for routine work. */
function repairOf(plan: SwarmPlan): string | undefined {
  const routes = plan.actions.filter((a) => a.type === 'route');
  return routes.length === 0 ? undefined : routes.map((a) => `rewrote the proxy route (${a.reason})`).join('; ');
}
