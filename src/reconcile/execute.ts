/**
 * The executor: applies a Plan's actions in order through the Runtime and the TrafficRouter, and
 * reports what it did in `Executed` (even when it fails part-way). It writes no state and adds no
 * decisions of its own except compensation: when the checks fail (or the progress deadline passes) it removes the
 * containers the rollout was checking and restarts any old container the plan had stopped, so
 * the revision that served before keeps serving; then it rejects with DeployFailedError.
 */
import { CheckFailedError } from '../checks/errors.js';
import { runChecks } from '../checks/run-checks.js';
import type { App } from '../manifest/types.js';
import type { TrafficRouter } from '../proxy/types.js';
import { PortInUseError, RuntimeError } from '../runtime/errors.js';
import type { Runtime } from '../runtime/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Action, ContainerRef, Executed, Plan } from './actions.js';
import { servingEndpoints } from './serving.js';
import { DeployFailedError } from './errors.js';
import { redact, secretsOf } from '../util/redact.js';
import { imageRef } from '../manifest/image-ref.js';

export interface ExecuteContext {
  runtime: Runtime;
  traffic: TrafficRouter;
  namespace: string;
  name: string;
  clock: Clock;
  logger: Logger;
  /** The app being deployed (undefined when removing an app whose manifest is gone). */
  app?: App;
  /** The app's containers as observed when the plan was made, to resolve names to ids. */
  observed: ContainerRef[];
  /** Seconds between SIGTERM and SIGKILL when stopping a container. */
  stopTimeoutSeconds: number;
  /** Called once traffic is routed to `revision`, before the next action: the switch is recorded at once. */
  onSwitched(revision: string): void;
  signal: AbortSignal;
}

export function nothingExecuted(): Executed {
  return { tagged: [], untagged: [], endpoints: [] };
}

const LOG_TAIL_LINES = 20;

/** Applies `plan`; what it did accumulates in `executed`, which the caller reads whether or not it throws. */
export async function executePlan(plan: Plan, ctx: ExecuteContext, executed: Executed): Promise<void> {
  const progress: Progress = { ids: new Map(ctx.observed.map((c) => [c.name, c.id])), started: [], stopped: [], switched: false, executed };
  try {
    for (const action of plan.actions) {
      ctx.signal.throwIfAborted();
      const begin = ctx.clock.now();
      const done = await apply(action, ctx, progress);
      if (done) ctx.logger.info({ step: done.step ?? action.type, ...done.fields, durationMs: ctx.clock.now() - begin }, done.message);
    }
  } catch (error) {
    // Shutting down mid-rollout: abandon it cleanly, so that what served before keeps serving alone.
    if (ctx.signal.aborted && !progress.switched && (progress.started.length > 0 || progress.stopped.length > 0)) await compensate(ctx, progress);
    throw error;
  }
}

interface Progress {
  ids: Map<string, string>;
  started: ContainerRef[];
  stopped: ContainerRef[];
  /** Traffic moved to the new revision: from here on it is the one that serves. */
  switched: boolean;
  executed: Executed;
}

/** What a finished step logs (the executor adds `step` and `durationMs`); undefined when the step logs for itself. */
type StepDone = { message: string; fields: Record<string, unknown>; step?: string } | undefined;

async function apply(action: Action, ctx: ExecuteContext, progress: Progress): Promise<StepDone> {
  const { runtime, logger } = ctx;
  switch (action.type) {
    case 'pull':
      logger.info({ step: 'pull', image: action.ref }, `Pulling ${action.ref}...`);
      await runtime.pullImage(action.ref, ctx.signal);
      progress.executed.tagged.push(action.ref);
      return { message: `Pulled ${action.ref}`, fields: { image: action.ref } };
    case 'tag':
      await runtime.tagImage(action.source, action.repository, action.tag);
      const ref = imageRef(action.repository, action.tag);
      progress.executed.tagged.push(ref);
      return { message: `Tagged ${ref}`, fields: { image: ref } };
    case 'stop':
      await runtime.stopContainer(action.container.id, ctx.stopTimeoutSeconds);
      progress.stopped.push(action.container);
      return { message: `Stopped ${action.container.name} (${action.reason})`, fields: { container: action.container.name, reason: action.reason } };
    case 'remove':
      await runtime.removeContainer(action.container.id);
      return { message: `Removed ${action.container.name}: ${action.reason}`, fields: { container: action.container.name, reason: action.reason } };
    case 'create': {
      const id = await runtime.createContainer(action.spec);
      progress.ids.set(action.spec.name, id);
      progress.started.push({ id, name: action.spec.name });
      await runtime.startContainer(id).catch(async (error: unknown) => {
        await compensate(ctx, progress);
        // A taken port is said in berth's words: what holds it matters to the reader, not the container's name.
        const why = error instanceof PortInUseError ? error.reason : `container ${action.spec.name} did not start: ${(error as Error).message}`;
        throw new DeployFailedError(why, { cause: error });
      });
      return { step: 'start', message: `Started ${action.spec.name}`, fields: { container: action.spec.name } };
    }
    case 'check':
      await check(action.containers, ctx, progress);
      return undefined;
    case 'switch': {
      const app = requireApp(ctx, action);
      const endpoints = servingEndpoints(app, action.revision, await runtime.listContainers(ctx.namespace, ctx.name));
      await ctx.traffic.route(app, endpoints);
      progress.executed.endpoints = endpoints;
      ctx.onSwitched(action.revision);
      progress.switched = true;
      return { message: 'Switched traffic to the new container(s)', fields: {} };
    }
    case 'route':
      await ctx.traffic.route(requireApp(ctx, action), action.endpoints);
      progress.executed.endpoints = action.endpoints;
      return undefined;
    case 'unroute':
      await ctx.traffic.unroute(ctx.name);
      return undefined;
    case 'untag':
      await untag(action, ctx, progress.executed);
      return undefined;
    case 'retag':
      if (action.previous) await runtime.tagImage(action.previous, action.repository, 'previous');
      await runtime.tagImage(action.latest, action.repository, 'latest');
      return { message: `${action.repository}:latest now points at the deployed image`, fields: { image: `${action.repository}:latest` } };
    case 'retire':
      logger.info({ step: 'retire', containers: action.containers.map((c) => c.name) }, `Shutting down ${action.containers.length} old container(s): ${action.reason}`);
      for (const container of action.containers) {
        await runtime.stopContainer(container.id, ctx.stopTimeoutSeconds);
        await runtime.removeContainer(container.id);
      }
      return { message: `Retired ${action.containers.map((c) => c.name).join(', ')}`, fields: { containers: action.containers.map((c) => c.name) } };
  }
}

/** Untags each of the action's refs; one the engine will not untag is left for the next deploy, with a warning. */
async function untag(action: Extract<Action, { type: 'untag' }>, ctx: ExecuteContext, executed: Executed): Promise<void> {
  const released: string[] = [];
  for (const ref of action.refs) {
    try {
      await ctx.runtime.untagImage(ref);
      released.push(ref);
    } catch (error) {
      if (!(error instanceof RuntimeError)) throw error;
      ctx.logger.warn({ step: 'release', image: ref, reason: error.message }, `Could not untag ${ref}; will try after the next deploy`);
    }
  }
  executed.untagged.push(...released);
  if (released.length > 0) ctx.logger.info({ step: 'release', images: released }, `Untagged ${released.join(', ')} (${action.reason})`);
}

function requireApp(ctx: ExecuteContext, action: Action): App {
  if (!ctx.app) throw new Error(`${action.type} action without an app`);
  return ctx.app;
}

async function check(names: string[], ctx: ExecuteContext, progress: Progress): Promise<void> {
  const app = requireApp(ctx, { type: 'check', containers: names, reason: '' });
  const checked = names.map((name) => ({ name, id: progress.ids.get(name) ?? name }));
  const deadline = new AbortController();
  const cancelDeadline = ctx.clock.schedule(
    () => deadline.abort(new CheckFailedError('', `the deploy did not pass its checks within deploy.progressDeadline (${app.spec.deploy.progressDeadline}s)`)),
    app.spec.deploy.progressDeadline * 1000,
  );
  ctx.logger.info({ step: 'checks', containers: names }, 'Running pre-flight checks');
  try {
    await runChecks(ctx, app, checked.map((c) => c.id), AbortSignal.any([ctx.signal, deadline.signal]));
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    const reason = error instanceof CheckFailedError ? error.message : `checks could not run: ${(error as Error).message}`;
    const failing = checked.find((c) => c.name === (error as CheckFailedError).container) ?? checked[0];
    if (failing) await logContainerOutput(ctx, failing);
    await compensate(ctx, { ...progress, started: uniqueRefs([...progress.started, ...checked]) });
    throw new DeployFailedError(reason, { cause: error });
  } finally {
    cancelDeadline();
  }
}

/** Undo a rollout: remove what it started or checked, start again what it stopped. */
async function compensate(ctx: ExecuteContext, progress: Progress): Promise<void> {
  for (const container of progress.started) {
    await ctx.runtime.removeContainer(container.id).catch((error: unknown) => ctx.logger.warn({ err: error, container: container.name }, 'could not remove a failed container'));
  }
  for (const container of progress.stopped) {
    await ctx.runtime.startContainer(container.id).catch((error: unknown) => ctx.logger.error({ err: error, container: container.name }, 'could not restart the old container'));
  }
  ctx.logger.warn({ step: 'rollback', removed: progress.started.map((c) => c.name), restarted: progress.stopped.map((c) => c.name) }, 'Removed the new container(s); the previous revision keeps serving');
}

async function logContainerOutput(ctx: ExecuteContext, container: ContainerRef): Promise<void> {
  const raw = await ctx.runtime.containerLogs(container.id, LOG_TAIL_LINES).catch(() => '');
  const output = redact(raw, secretsOf(ctx.app?.spec.env ?? {}));
  if (output.trim() !== '') ctx.logger.warn({ step: 'checks', container: container.name, output }, `${container.name} container output (last ${LOG_TAIL_LINES} lines)`);
}

function uniqueRefs(refs: ContainerRef[]): ContainerRef[] {
  return [...new Map(refs.map((r) => [r.id, r])).values()];
}
