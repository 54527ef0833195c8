/**
 * The Swarm reconciler: one app as one replicated service. observe (manifest, service, tasks,
 * the tag's digest) -> plan (pure) -> the one call -> watch Swarm roll it out -> record, through
 * the same Recorder as the Docker reconciler.
 *
 * Watching: a created service is done when its replicas run; an update when Swarm's
 * UpdateStatus says `completed`. `rollback_*` or `paused` is a failed deploy, recorded as failed
 * with Swarm's message and the failing task's error, never as a success. Swarm has no progress
 * deadline: past `deploy.progressDeadline` berth asks Swarm to roll the service back.
 */
import { imageRef } from '../../manifest/image-ref.js';
import type { App } from '../../manifest/types.js';
import type { ControllerMetrics } from '../../metrics/types.js';
import { RuntimeError } from '../../runtime/errors.js';
import type {
  ImageLocation,
  ServiceRuntime,
  ServiceSpec,
  ServiceSummary,
  TaskSummary,
} from '../../runtime/services.js';
import { appRepository, repositoryOf } from '../../manifest/image-ref.js';
import { LABEL_SPEC_HASH } from '../../runtime/types.js';
import type { StateStore } from '../../state/store.js';
import type { Phase } from '../../state/types.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { Desired } from '../core/desired.js';
import { nothingExecuted } from '../core/outcome.js';
import { Recorder } from '../core/recorder.js';
import type { AppReconciler, HostView, ReconcileResult } from '../core/reconciler.js';
import { planService, runningTasks, type SwarmObservation, type SwarmPlan } from './plan.js';
import { taskEndpoints } from './endpoints.js';
import { directTraffic } from '../../proxy/direct.js';
import type { TrafficRouter } from '../../proxy/types.js';
import { desiredRef, serviceSpecFor, swarmSecretsFor } from './service-spec.js';

export interface SwarmReconcilerDeps {
  services: ServiceRuntime;
  /** The proxy in front of the apps' tasks (directTraffic when none). */
  traffic?: TrafficRouter;
  clock: Clock;
  logger: Logger;
  state: StateStore;
  desired(name: string): Desired;
  metrics?: ControllerMetrics;
}

export interface SwarmReconcilerOptions {
  namespace: string;
  /** `--swarm-registry`: where images only this host has are pushed, so every node can pull them. */
  registry?: string;
  stopTimeoutSeconds: number;
  /** How often a rollout is looked at while it runs. */
  pollMs?: number;
}

/** Why a rollout failed, in one line. */
class RolloutFailed extends Error {}

export class SwarmReconciler implements AppReconciler {
  private readonly recorder: Recorder;

  constructor(
    private readonly deps: SwarmReconcilerDeps,
    private readonly options: SwarmReconcilerOptions,
  ) {
    this.recorder = new Recorder(deps);
  }

  /** What a reconcile of `name` would do now (`berth plan`); changes nothing. */
  async preview(name: string): Promise<SwarmPlan> {
    return planService((await this.observeApp(name)).observation);
  }

  /** Every app with a service in the namespace. */
  async apps(): Promise<string[]> {
    return (await this.deps.services.listServices(this.options.namespace)).map((s) => s.app);
  }

  private async observeApp(name: string): Promise<{ observation: SwarmObservation; tasks: TaskSummary[] }> {
    const { namespace } = this.options;
    const [services, tasks, swarm, nodes] = await Promise.all([
      this.deps.services.listServices(namespace, name),
      this.deps.services.listTasks(namespace, name),
      this.deps.services.swarm(),
      this.nodes(),
    ]);
    const observation = await this.observe(
      name,
      this.deps.desired(name),
      services[0],
      tasks,
      swarm.nodes,
      (ref) => this.deps.services.locateImage(ref),
      nodes,
    );
    return { observation, tasks };
  }

  async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult> {
    const logger = this.deps.logger.child({ app: name });
    const { namespace } = this.options;
    const { observation, tasks } = await this.observeApp(name);
    const plan = planService(observation);
    if (plan.refused !== undefined || (plan.actions.length === 0 && !plan.resume)) {
      if (plan.refused !== undefined)
        logger.warn({ step: 'plan', reason: plan.refused }, `Refusing to deploy ${name}: ${plan.refused}`);
      this.recorder.ended(observation, plan, { kind: 'settled' });
      if (plan.refused !== undefined) return { phase: plan.outcome.phase, failed: true };
      if (plan.gone && !observation.service) await this.sweepSecrets(name, logger);
      return plan.gone ? { phase: 'Running', failed: false, gone: true } : { phase: plan.outcome.phase, failed: false };
    }
    const begin = this.deps.clock.now();
    const executed = nothingExecuted();
    const stepLogger = plan.rollout ? logger.child({ revision: plan.rollout.revision }) : logger;
    try {
      if (plan.rollout) {
        const ref = imageRef(plan.rollout.image, plan.rollout.tag);
        this.recorder.deploying(observation, plan.rollout);
        stepLogger.info(
          { step: 'deploy', strategy: plan.rollout.strategy, runtime: 'swarm' },
          `Deploying ${name} (${ref}) as service ${namespace}_${name}...`,
        );
      }
      if (plan.resume && observation.wanted && 'spec' in observation.wanted) {
        stepLogger.info({ step: 'checks' }, `Swarm is rolling out ${name} already; watching it`);
        await this.waitForUpdate(
          name,
          observation.wanted.spec,
          observation.service?.update.startedAt ?? 0,
          signal,
          stepLogger,
        );
      }
      await this.apply(plan, observation, signal, stepLogger);
    } catch (error) {
      if (changesService(plan)) await this.sweepSecrets(name, stepLogger);
      if (signal.aborted) throw error;
      if (!(error instanceof RolloutFailed || error instanceof RuntimeError)) throw error;
      const remaining = await this.deps.services.listTasks(namespace, name).catch(() => tasks);
      const phase: Phase = remaining.some((t) => t.state === 'running' && t.desiredState === 'running')
        ? 'Degraded'
        : 'Failed';
      const message = error instanceof RolloutFailed ? `deploy failed: ${error.message}` : error.message;
      this.recorder.ended(observation, plan, {
        kind: 'failed',
        executed,
        phase,
        message,
        durationMs: this.deps.clock.now() - begin,
      });
      stepLogger.error({ step: 'deploy', result: 'failed', reason: message, phase }, `${name}: ${message}`);
      return { phase, failed: true };
    }
    if (changesService(plan)) await this.sweepSecrets(name, stepLogger);
    // The image is in the swarm's registry now: a second round deploys it from there.
    if (plan.actions.length > 0 && plan.actions.every((a) => a.type === 'push')) return this.reconcile(name, signal);
    const durationMs = this.deps.clock.now() - begin;
    if (plan.rollout) this.recorder.switched(name, plan, plan.rollout.revision);
    this.recorder.ended(observation, plan, { kind: 'applied', executed, durationMs });
    if (plan.gone) {
      logger.info({ step: 'remove' }, `Removed service ${namespace}_${name}: its manifest is gone`);
      return { phase: 'Running', failed: false, gone: true };
    }
    if (plan.rollout)
      stepLogger.info(
        { step: 'deployed', durationMs, image: imageRef(plan.rollout.image, plan.rollout.tag) },
        `Application deployed: ${name} (${imageRef(plan.rollout.image, plan.rollout.tag)})`,
      );
    // The rollout is confirmed by Swarm itself: the app's phase is the plan's outcome now.
    this.recorder.ended(observation, { outcome: plan.outcome }, { kind: 'settled' });
    return { phase: plan.outcome.phase, failed: false };
  }

  /**
   * One service, task and secret list for the namespace; apps are judged without resolving digests
   * again (the service's pin stands for its tag). An app with Docker secrets but no service and no
   * manifest (its service went while berth was down) is out of sync: its reconcile removes them.
   */
  async observeHost(): Promise<HostView> {
    const { namespace } = this.options;
    const [services, tasks, swarm, nodes, secrets] = await Promise.all([
      this.deps.services.listServices(namespace),
      this.deps.services.listTasks(namespace),
      this.deps.services.swarm(),
      this.nodes(),
      this.deps.services.listSecrets(namespace),
    ]);
    const byApp = new Map(services.map((s) => [s.app, s]));
    const leftSecrets = new Set(secrets.map((s) => s.app).filter((app) => !byApp.has(app)));
    return {
      apps: () => [...new Set([...byApp.keys(), ...leftSecrets])],
      holds: () => false,
      isInSync: async (name) => {
        if (leftSecrets.has(name) && this.deps.desired(name).kind === 'absent') return false;
        const service = byApp.get(name);
        // The service's pin stands for its tag: a resync resolves no digest and pushes nothing.
        const pinnedAs = (ref: string): ImageLocation => {
          if (service?.image.startsWith(`${ref}@`)) return { where: 'registry', pinned: service.image };
          const at = service?.image.indexOf('@') ?? -1;
          return {
            where: 'local',
            repoDigests:
              service && at > 0 ? [`${repositoryOf(service.image.slice(0, at))}${service.image.slice(at)}`] : [],
          };
        };
        const observation = await this.observe(
          name,
          this.deps.desired(name),
          service,
          tasks.filter((t) => t.app === name),
          swarm.nodes,
          async (ref) => pinnedAs(ref),
          nodes,
        );
        const plan = planService(observation);
        const record = this.deps.state.get(name);
        if (plan.actions.length > 0 || plan.refused !== undefined || plan.resume) return false;
        if (plan.gone) return record === undefined;
        return record !== undefined && record.phase === plan.outcome.phase && record.message === plan.outcome.message;
      },
    };
  }

  /**
   * What the planner needs of one app. The image is located (its registry's digest, else this
   * host's copy); with `--swarm-registry`, an image of the app's own repository that only this
   * host has is deployed from `<registry>/<namespace>/<app>:<tag>`, pushed first unless the
   * registry has these very bytes already.
   */
  private async observe(
    name: string,
    desired: Desired,
    service: ServiceSummary | undefined,
    tasks: TaskSummary[],
    nodes: number,
    locate: (ref: string) => Promise<ImageLocation>,
    addresses: { id: string; addr: string }[],
  ): Promise<SwarmObservation> {
    const app: App | undefined = desired.kind === 'present' ? desired.app : undefined;
    const route = await this.routeOf(name, app, tasks, addresses);
    const base = { name, desired, tasks, ...(service ? { service } : {}), ...(route ? { route } : {}) };
    if (!app) return base;
    const { namespace, registry } = this.options;
    const ref = desiredRef(namespace, app);
    const spec = (image: { ref: string; pinned: boolean }) => ({
      ...base,
      wanted: serviceSpecFor(namespace, app, image, nodes, this.options.stopTimeoutSeconds),
    });
    const found = await locate(ref);
    if (found.where === 'registry') return spec({ ref: found.pinned, pinned: true });
    if (found.where === 'nowhere') return { ...base, imageMissing: true };
    if (registry === undefined || app.spec.image !== appRepository(namespace, app.name))
      return spec({ ref, pinned: false });
    const target = `${registry}/${ref}`;
    const published = await locate(target);
    const digest =
      published.where === 'registry' ? published.pinned.slice(published.pinned.indexOf('@') + 1) : undefined;
    if (digest !== undefined && found.repoDigests.includes(`${repositoryOf(target)}@${digest}`))
      return spec({ ref: `${target}@${digest}`, pinned: true });
    return { ...base, publish: { source: ref, target } };
  }

  private async apply(
    plan: SwarmPlan,
    observation: SwarmObservation,
    signal: AbortSignal,
    logger: Logger,
  ): Promise<void> {
    const { services } = this.deps;
    for (const action of plan.actions) {
      switch (action.type) {
        case 'create':
          await services.createService(action.spec, await this.makeSecrets(observation));
          logger.info({ step: 'create', service: action.spec.name }, `Created service ${action.spec.name}`);
          await this.waitForReplicas(observation.name, action.spec, signal, logger);
          break;
        case 'update': {
          const secretIds = await this.makeSecrets(observation);
          const sentAt = this.deps.clock.now();
          await services.updateService(action.id, action.version, action.spec, secretIds);
          logger.info(
            { step: 'update', service: action.spec.name, rolling: action.rolling },
            `Updated service ${action.spec.name}${action.rolling ? `: Swarm rolls it out ${action.spec.update.order}` : ''}`,
          );
          if (action.rolling) await this.waitForUpdate(observation.name, action.spec, sentAt, signal, logger);
          else await this.waitForReplicas(observation.name, action.spec, signal, logger);
          break;
        }
        case 'remove':
          await services.removeService(action.id);
          break;
        case 'route':
          await this.traffic.route(this.appOf(observation), action.endpoints);
          break;
        case 'unroute':
          await this.traffic.unroute(observation.name);
          break;
        case 'push': {
          const pushed = await services.pushImage(action.source, action.target);
          logger.info({ step: 'push', image: pushed }, `Pushed ${action.source} as ${pushed}`);
          break;
        }
      }
    }
  }

  /**
   * The Docker secrets the service is to mount, made before it is sent (those there already stand:
   * their names carry their digest); resolves to each one's id by name, which the spec refers to.
   */
  private async makeSecrets(observation: SwarmObservation): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    if (observation.desired.kind !== 'present') return ids;
    for (const secret of swarmSecretsFor(this.options.namespace, observation.desired.app))
      ids.set(secret.name, await this.deps.services.createSecret(secret));
    return ids;
  }

  /**
   * Removes the app's Docker secrets that neither its service's spec nor the spec before it
   * mounts (Swarm rolls back to the previous one), and all of them once the service is gone.
   * A secret that cannot go now is left for the next deploy's sweep.
   */
  private async sweepSecrets(name: string, logger: Logger): Promise<void> {
    const { services } = this.deps;
    try {
      const secrets = await services.listSecrets(this.options.namespace, name);
      if (secrets.length === 0) return;
      const [service] = await services.listServices(this.options.namespace, name);
      const kept = new Set(service?.secretNames ?? []);
      for (const secret of secrets) if (!kept.has(secret.name)) await services.removeSecret(secret.id);
    } catch (error) {
      if (!(error instanceof RuntimeError)) throw error;
      logger.warn(
        { step: 'secrets', err: error },
        `could not remove ${name}'s unused Docker secrets: ${error.message}`,
      );
    }
  }

  /** Until `spec.replicas` tasks of the spec run, or the progress deadline passes; the proxy follows the tasks meanwhile. */
  private async waitForReplicas(name: string, spec: ServiceSpec, signal: AbortSignal, logger: Logger): Promise<void> {
    const deadline = this.deps.clock.now() + this.progressDeadlineMs(name);
    const nodes = await this.nodes();
    for (;;) {
      const tasks = await this.deps.services.listTasks(this.options.namespace, name);
      const running = runningTasks(tasks, spec.labels[LABEL_SPEC_HASH] ?? '');
      await this.follow(name, tasks, nodes, { starting: running < spec.replicas });
      if (running >= spec.replicas) {
        logger.info(
          { step: 'checks', running, replicas: spec.replicas },
          `${running} of ${spec.replicas} task(s) running${spec.healthcheck ? ' and healthy' : ''}`,
        );
        return;
      }
      if (this.deps.clock.now() > deadline)
        throw new RolloutFailed(
          `${running} of ${spec.replicas} task(s) running after deploy.progressDeadline${failingTask(tasks, spec)}`,
        );
      await this.deps.clock.sleep(this.pollMs, signal);
    }
  }

  /** Until Swarm says the update completed; a rollback or pause is a failure; past the deadline berth rolls it back. */
  private async waitForUpdate(
    name: string,
    spec: ServiceSpec,
    sentAt: number,
    signal: AbortSignal,
    logger: Logger,
  ): Promise<void> {
    const { services, clock } = this.deps;
    const deadline = clock.now() + this.progressDeadlineMs(name);
    const nodes = await this.nodes();
    for (;;) {
      await clock.sleep(this.pollMs, signal);
      const [service] = await services.listServices(this.options.namespace, name);
      if (!service) throw new RolloutFailed(`service ${spec.name} disappeared during the update`);
      const { state, message, startedAt } = service.update;
      const ours = startedAt === undefined || startedAt >= sentAt - 2_000;
      const done = ours && state === 'completed';
      if (this.traffic !== directTraffic)
        await this.follow(name, await services.listTasks(this.options.namespace, name), nodes, { starting: !done });
      if (done) {
        logger.info(
          { step: 'checks', result: 'passed' },
          'Swarm completed the update: every new task passed its checks',
        );
        return;
      }
      if (
        ours &&
        (state === 'rollback_started' ||
          state === 'rollback_completed' ||
          state === 'rollback_paused' ||
          state === 'paused')
      ) {
        throw new RolloutFailed(
          `Swarm ${state === 'paused' ? 'paused' : 'rolled back'} the update: ${message || state}${await this.failureOf(name, spec, message, signal)}`,
        );
      }
      if (clock.now() > deadline) {
        await services
          .rollbackService(service.id, service.version)
          .catch((error: unknown) => logger.warn({ err: error }, 'could not ask Swarm to roll back'));
        const tasks = await services.listTasks(this.options.namespace, name);
        throw new RolloutFailed(
          `the update did not complete within deploy.progressDeadline; berth asked Swarm to roll it back${failingTask(tasks, spec)}`,
        );
      }
    }
  }

  /**
   * The error of the task Swarm's message names (or the newest failed one): it is set a moment
   * after Swarm decides, so it is waited for, briefly.
   */
  private async failureOf(name: string, spec: ServiceSpec, message: string, signal: AbortSignal): Promise<string> {
    const named = /task ([a-z0-9]{25})/.exec(message)?.[1];
    for (let attempt = 0; attempt < 10; attempt++) {
      const tasks = await this.deps.services.listTasks(this.options.namespace, name);
      const task = tasks.find((t) => t.id === named);
      if (task && task.error !== '') return `; task ${spec.name}.${task.slot}: ${task.error}`;
      // Stopped for being unhealthy, a task may exit 0 and report no error at all.
      if (task && ['complete', 'shutdown', 'failed', 'rejected'].includes(task.state)) {
        return `; task ${spec.name}.${task.slot} ended (${task.state}${task.message ? `: ${task.message}` : ''})${spec.healthcheck ? ' without passing its checks' : ''}`;
      }
      const any = failingTask(tasks, spec);
      if (named === undefined && any !== '') return any;
      await this.deps.clock.sleep(500, signal);
    }
    return '';
  }

  /** A proxy must learn of a new task before Swarm stops the old one: look often then. */
  private get pollMs(): number {
    return this.options.pollMs ?? (this.traffic === directTraffic ? 1_000 : 200);
  }

  private get traffic(): TrafficRouter {
    return this.deps.traffic ?? directTraffic;
  }

  /** The swarm's node addresses; none are needed without a proxy. */
  private async nodes(): Promise<{ id: string; addr: string }[]> {
    return this.traffic === directTraffic ? [] : this.deps.services.listNodes();
  }

  /** With a proxy: whether it routes the app, and to exactly its running tasks. */
  private async routeOf(
    name: string,
    app: App | undefined,
    tasks: readonly TaskSummary[],
    nodes: { id: string; addr: string }[],
  ): Promise<SwarmObservation['route']> {
    if (this.traffic === directTraffic) return undefined;
    if (!app) return { held: await this.traffic.hasRoute(name), current: true, endpoints: [] };
    const endpoints = taskEndpoints(app, tasks, nodes, { starting: false });
    return { held: await this.traffic.hasRoute(name), current: await this.traffic.isRouted(app, endpoints), endpoints };
  }

  /** Points the proxy at the app's tasks as they are now (with `starting`, new tasks too: the proxy retries past one that does not answer yet). */
  private async follow(
    name: string,
    tasks: readonly TaskSummary[],
    nodes: { id: string; addr: string }[],
    options: { starting: boolean },
  ): Promise<void> {
    if (this.traffic === directTraffic) return;
    const desired = this.deps.desired(name);
    if (desired.kind !== 'present') return;
    const endpoints = taskEndpoints(desired.app, tasks, nodes, options);
    if (endpoints.length > 0) await this.traffic.route(desired.app, endpoints);
  }

  private appOf(observation: SwarmObservation): App {
    if (observation.desired.kind !== 'present')
      throw new Error(`route action for ${observation.name} without a manifest`);
    return observation.desired.app;
  }

  private progressDeadlineMs(name: string): number {
    const desired = this.deps.desired(name);
    return (desired.kind === 'present' ? desired.app.spec.deploy.progressDeadline : 600) * 1000;
  }
}

/** Whether the plan creates, updates or removes the service (and so may leave Docker secrets unused). */
function changesService(plan: SwarmPlan): boolean {
  return plan.actions.some((a) => a.type === 'create' || a.type === 'update' || a.type === 'remove');
}

/** `; task web.1: unhealthy container` for the newest failed task of the spec, or ''. */
function failingTask(tasks: readonly TaskSummary[], spec: ServiceSpec): string {
  const hash = spec.labels[LABEL_SPEC_HASH];
  const failed = tasks
    .filter(
      (t) =>
        t.specHash === hash &&
        (t.state === 'failed' || t.state === 'rejected' || (t.state === 'shutdown' && t.error !== '')),
    )
    .sort((a, b) => b.createdAt - a.createdAt)[0];
  if (!failed) return '';
  return `; task ${spec.name}.${failed.slot}: ${failed.error || failed.message}`;
}
