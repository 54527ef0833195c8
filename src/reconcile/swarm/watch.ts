/**
 * What a look at a rollout decides (pure): the executor looks at the service and its tasks every
 * poll of a `watch` action and runs what `judgeRollout` returns through its one action runner.
 *
 * - A created service (or a scaled one) is done when its replicas run; past the deadline it fails.
 * - An update is done when Swarm's UpdateStatus says `completed`. `rollback_*` or `paused` fails
 *   it, as rolled back: Swarm's message and the failing task's error say why. Swarm has no
 *   progress deadline of its own: past `deploy.progressDeadline` the verdict is a `rollback`
 *   action (berth asks Swarm to roll back, which ends the rollout as failed).
 * - A rollback berth asked for (after deploy.monitor found a failure) is done when Swarm says
 *   `rollback_completed`; a paused one, or one past the deadline, ends it as failed.
 * - With a proxy, each look that finds new tasks starting routes to them too, so the proxy knows
 *   a new task before Swarm stops an old one (and retries past one that does not answer yet).
 * - A manifest changed since the pass planned ends any watch (`superseded`): the next pass plans
 *   from it, within seconds, however long the rollout would still take.
 */
import type { App } from '../../manifest/types.js';
import type { ServiceSpec, ServiceSummary, TaskSummary, UpdateState } from '../../runtime/services.js';
import { specHashOf, type RollbackAction, type SwarmAction, type WatchAction } from './actions.js';
import { followRoutes } from './endpoints.js';

/** One look at the rollout. */
export interface Sighting {
  /** The service as Swarm reports it now (undefined: it is gone); a `running` watch needs none. */
  service?: ServiceSummary;
  tasks: readonly TaskSummary[];
  nodes: readonly { id: string; addr: string }[];
  now: number;
  /** The app's manifest changed since this pass planned. */
  superseded?: boolean;
}

/** Where the watch stands: its `since` and deadline, and what this reconcile last routed to. */
export interface WatchContext {
  /** The app whose tasks the proxy follows (undefined: nothing to route). */
  app?: App;
  since: number;
  deadline: number;
  routed: readonly string[];
}

export type WatchEnd =
  | { kind: 'done'; message: string; fields: Record<string, unknown> }
  /**
   * The rollout failed. `rolledBack`: Swarm rolled it back (or paused it), so its revision is
   * held; `swarmMessage` is Swarm's word, whose task's error is worth a brief wait (taskFailure).
   */
  | { kind: 'failed'; reason: string; rolledBack: boolean; swarmMessage?: string }
  /** The manifest changed: the watch ends without a verdict, and the next pass plans from it. */
  | { kind: 'superseded'; message: string };

export interface Verdict {
  /** Run now, in order (a route to new tasks, or the rollback past the deadline). */
  actions: SwarmAction[];
  /** Undefined: look again after a poll. */
  end?: WatchEnd;
}

/** Swarm's update states once it gave an update up: a rollback, or a pause on failure. */
export const GIVEN_UP: ReadonlySet<UpdateState> = new Set([
  'rollback_started',
  'rollback_completed',
  'rollback_paused',
  'paused',
]);

/** An update whose status started this long before `since` is still this one (the clocks of Swarm and berth differ a little). */
const CLOCK_SLACK_MS = 2_000;

export function judgeRollout(watch: WatchAction, sighting: Sighting, context: WatchContext): Verdict {
  if (sighting.superseded)
    return { actions: [], end: { kind: 'superseded', message: 'the manifest changed: the next pass plans from it' } };
  if (watch.until === 'running') return judgeReplicas(watch, sighting, context);
  if (watch.until === 'rolledBack') return judgeRollback(watch, sighting, context);
  return judgeUpdate(watch, sighting, context);
}

/** A rollback berth asked for: done once Swarm completed it; paused, or past the deadline, it failed. */
function judgeRollback(watch: WatchAction, sighting: Sighting, context: WatchContext): Verdict {
  const { spec } = watch;
  const { service } = sighting;
  if (!service)
    return {
      actions: [],
      end: { kind: 'failed', reason: `service ${spec.name} disappeared during the rollback`, rolledBack: true },
    };
  const { state, message, startedAt } = service.update;
  const ours = startedAt === undefined || startedAt >= context.since - CLOCK_SLACK_MS;
  if (ours && state === 'rollback_completed')
    return {
      actions: [],
      end: {
        kind: 'done',
        message: "Swarm rolled the service back: the previous revision's tasks run",
        fields: { step: 'rollback', result: 'completed' },
      },
    };
  if (ours && state === 'rollback_paused')
    return {
      actions: [],
      end: { kind: 'failed', reason: `Swarm paused the rollback: ${message || state}`, rolledBack: true },
    };
  const routes = following(watch, sighting, context);
  if (sighting.now > context.deadline)
    return {
      actions: routes,
      end: {
        kind: 'failed',
        reason: 'the rollback did not complete within deploy.progressDeadline',
        rolledBack: true,
      },
    };
  return { actions: routes };
}

function judgeReplicas(watch: WatchAction, sighting: Sighting, context: WatchContext): Verdict {
  const { spec } = watch;
  const running = runningTasks(sighting.tasks, specHashOf(spec));
  if (running >= spec.replicas)
    return {
      actions: [],
      end: {
        kind: 'done',
        message: `${running} of ${spec.replicas} task(s) running${spec.healthcheck ? ' and healthy' : ''}`,
        fields: { step: 'checks', running, replicas: spec.replicas },
      },
    };
  if (sighting.now > context.deadline)
    return {
      actions: [],
      end: {
        kind: 'failed',
        reason: `${running} of ${spec.replicas} task(s) running after deploy.progressDeadline${failingTask(sighting.tasks, spec)}`,
        rolledBack: false,
      },
    };
  return { actions: following(watch, sighting, context) };
}

function judgeUpdate(watch: WatchAction, sighting: Sighting, context: WatchContext): Verdict {
  const { spec } = watch;
  const { service } = sighting;
  if (!service)
    return {
      actions: [],
      end: { kind: 'failed', reason: `service ${spec.name} disappeared during the update`, rolledBack: false },
    };
  const { state, message, startedAt } = service.update;
  // A status that began before this update is the one before it (Swarm sets the new one a moment after it takes the spec).
  const ours = startedAt === undefined || startedAt >= context.since - CLOCK_SLACK_MS;
  if (ours && state === 'completed')
    return {
      actions: [],
      end: {
        kind: 'done',
        message: 'Swarm completed the update: every new task passed its checks',
        fields: { step: 'checks', result: 'passed' },
      },
    };
  if (ours && GIVEN_UP.has(state))
    return {
      actions: [],
      end: {
        kind: 'failed',
        reason: `Swarm ${state === 'paused' ? 'paused' : 'rolled back'} the update: ${message || state}`,
        rolledBack: true,
        swarmMessage: message,
      },
    };
  const routes = following(watch, sighting, context);
  if (sighting.now > context.deadline) return { actions: [...routes, pastDeadline(service, spec, sighting.tasks)] };
  return { actions: routes };
}

/** The rollback berth asks for once Swarm's rollout ran past deploy.progressDeadline. */
export function pastDeadline(
  service: Pick<ServiceSummary, 'id' | 'version'>,
  spec: ServiceSpec,
  tasks: readonly TaskSummary[],
): RollbackAction {
  return {
    type: 'rollback',
    id: service.id,
    version: service.version,
    failure: `the update did not complete within deploy.progressDeadline; berth asked Swarm to roll it back${failingTask(tasks, spec)}`,
    reason: `Swarm's rollout of ${spec.name} ran past deploy.progressDeadline`,
  };
}

/** While the rollout runs: a route to the tasks that run or start, when the proxy follows them. */
function following(watch: WatchAction, sighting: Sighting, context: WatchContext): SwarmAction[] {
  if (!watch.follow || !context.app) return [];
  const route = followRoutes(context.app, sighting.tasks, sighting.nodes, { starting: true }, context.routed);
  return route ? [route] : [];
}

/**
 * `; task web.1: unhealthy container` for the task Swarm's message names (or, when it names none,
 * the newest failed task of the spec); undefined while that task has no error yet (it is set a
 * moment after Swarm decides, so the executor looks again, briefly).
 */
export function taskFailure(
  tasks: readonly TaskSummary[],
  spec: ServiceSpec,
  swarmMessage: string,
): string | undefined {
  const named = /task ([a-z0-9]{25})/.exec(swarmMessage)?.[1];
  const task = tasks.find((t) => t.id === named);
  if (task && task.error !== '') return `; task ${spec.name}.${task.slot}: ${task.error}`;
  // Stopped for being unhealthy, a task may exit 0 and report no error at all.
  if (task && ['complete', 'shutdown', 'failed', 'rejected'].includes(task.state))
    return `; task ${spec.name}.${task.slot} ended (${task.state}${task.message ? `: ${task.message}` : ''})${spec.healthcheck ? ' without passing its checks' : ''}`;
  const any = failingTask(tasks, spec);
  if (named === undefined && any !== '') return any;
  return undefined;
}

/** `; task web.1: unhealthy container` for the newest failed task of the spec, or ''. */
export function failingTask(tasks: readonly TaskSummary[], spec: ServiceSpec): string {
  const hash = specHashOf(spec);
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

/** Tasks of the spec `specHash` that run and are meant to. */
export function runningTasks(tasks: readonly TaskSummary[], specHash: string): number {
  return tasks.filter((t) => t.specHash === specHash && t.state === 'running' && t.desiredState === 'running').length;
}
