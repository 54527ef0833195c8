/**
 * The executor: applies a Plan's actions in order through the Runtime and the TrafficRouter (and
 * the file system, for the app's secret files), and reports what it did in `Executed` (even when
 * it fails part-way). It writes no state and adds no decisions of its own except compensation:
 * when the checks fail (or the progress deadline passes) it removes the containers the rollout
 * was checking and restarts any old container the plan had stopped, so the revision that served
 * before keeps serving; then it rejects with DeployFailedError.
 */
import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CheckFailedError } from '../../checks/errors.js';
import { runChecks } from '../../checks/run-checks.js';
import { imageRef } from '../../manifest/image-ref.js';
import type { App, ResolvedSecrets } from '../../manifest/types.js';
import type { AccessLogTarget, TrafficRouter } from '../../proxy/types.js';
import { lastLinesOf, secretValues } from '../../runtime/container-output.js';
import { PortInUseError, RuntimeError } from '../../runtime/errors.js';
import { LABEL_REVISION, type Runtime } from '../../runtime/types.js';
import { materializeSecretFiles } from '../../secrets/secret-files.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { ensurePrivateDirectory, UnsafeDirectoryError } from '../../util/private-dir.js';
import { silentLogger } from '../../util/silent-logger.js';
import { DeployFailedError, ReleaseFailedError } from '../core/errors.js';
import type { Action, ContainerRef, Executed, Plan, RollbackTarget } from './actions.js';
import { RELEASE_ROLE } from './container-spec.js';
import { servingEndpoints } from './serving.js';

export interface ExecuteContext {
  runtime: Runtime;
  traffic: TrafficRouter;
  namespace: string;
  name: string;
  clock: Clock;
  logger: Logger;
  /** The app being deployed (undefined when removing an app whose manifest is gone). */
  app?: App;
  /**
   * The app's containers as observed when the plan was made, to resolve names to ids (and tell
   * whether any other serves).
   */
  observed: (ContainerRef & { state?: string })[];
  /** Seconds between SIGTERM and SIGKILL when stopping a container. */
  stopTimeoutSeconds: number;
  /** Called once traffic is routed to `revision`, before the next action: the switch is recorded at once. */
  onSwitched(revision: string): void;
  /** Called once the release step of `revision` succeeded: it never runs again. */
  onReleased(revision: string): void;
  /** Called once traffic is back on the previous revision, before the failed containers go. */
  onRolledBack(from: string, to: string, reason: string): void;
  /** Where nginx sends the access log a canary's split is judged on (the collector's); absent without one. */
  accessLog?: AccessLogTarget;
  /** Called once a canary step's split is routed, before the next action: the step is recorded at once. */
  onCanaryStep?(step: Extract<Action, { type: 'canaryStep' }>): void;
  signal: AbortSignal;
}

const LOG_TAIL_LINES = 20;

/** Applies `plan`; what it did accumulates in `executed`, which the caller reads whether or not it throws. */
export async function executePlan(plan: Plan, ctx: ExecuteContext, executed: Executed): Promise<void> {
  const progress: Progress = {
    ids: new Map(ctx.observed.map((c) => [c.name, c.id])),
    started: [],
    stopped: [],
    switched: false,
    executed,
  };
  try {
    for (const action of plan.actions) {
      ctx.signal.throwIfAborted();
      const begin = ctx.clock.now();
      const done = await apply(action, ctx, progress);
      if (done)
        ctx.logger.info(
          { step: done.step ?? action.type, ...done.fields, durationMs: ctx.clock.now() - begin },
          done.message,
        );
    }
  } catch (error) {
    // Shutting down mid-rollout: abandon it cleanly, so that what served before keeps serving alone.
    if (ctx.signal.aborted && !progress.switched && (progress.started.length > 0 || progress.stopped.length > 0))
      await compensate(ctx, progress);
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
    case 'tag': {
      await runtime.tagImage(action.source, action.repository, action.tag);
      const ref = imageRef(action.repository, action.tag);
      progress.executed.tagged.push(ref);
      return { message: `Tagged ${ref}`, fields: { image: ref } };
    }
    case 'stop':
      await runtime.stopContainer(action.container.id, ctx.stopTimeoutSeconds);
      progress.stopped.push(action.container);
      return {
        message: `Stopped ${action.container.name} (${action.reason})`,
        fields: { container: action.container.name, reason: action.reason },
      };
    case 'remove':
      await runtime.removeContainer(action.container.id);
      return {
        message: `Removed ${action.container.name}: ${action.reason}`,
        fields: { container: action.container.name, reason: action.reason },
      };
    case 'create': {
      if (ctx.app?.spec.resolved) await secretFilesFor(ctx.app.spec.resolved);
      const id = await runtime.createContainer(action.spec);
      progress.ids.set(action.spec.name, id);
      progress.started.push({ id, name: action.spec.name });
      await runtime.startContainer(id).catch(async (error: unknown) => {
        await compensate(ctx, progress);
        // A taken port is said in berth's words: what holds it matters to the reader, not the container's name.
        const why =
          error instanceof PortInUseError
            ? error.reason
            : `container ${action.spec.name} did not start: ${(error as Error).message}`;
        throw new DeployFailedError(why, { cause: error });
      });
      return { step: 'start', message: `Started ${action.spec.name}`, fields: { container: action.spec.name } };
    }
    case 'check':
      await check(action.containers, ctx, progress);
      return undefined;
    case 'switch': {
      const app = requireApp(ctx, action);
      const containers = await runtime.listContainers(ctx.namespace, ctx.name);
      const endpoints = servingEndpoints(app, action.revision, containers);
      const backups =
        action.backupRevision !== undefined ? servingEndpoints(app, action.backupRevision, containers) : [];
      await ctx.traffic.route(app, endpoints, { backups });
      progress.executed.endpoints = endpoints;
      ctx.onSwitched(action.revision);
      progress.switched = true;
      return { message: 'Switched traffic to the new container(s)', fields: {} };
    }
    case 'route':
      await ctx.traffic.route(
        requireApp(ctx, action),
        action.endpoints,
        action.canary
          ? { canary: action.canary, ...(ctx.accessLog ? { accessLog: ctx.accessLog } : {}) }
          : { backups: action.backups ?? [] },
      );
      progress.executed.endpoints = action.endpoints;
      return undefined;
    case 'canaryStep': {
      const app = requireApp(ctx, action);
      const containers = await runtime.listContainers(ctx.namespace, ctx.name);
      const endpoints = servingEndpoints(app, action.stableRevision, containers);
      const canary = { endpoints: servingEndpoints(app, action.revision, containers), percent: action.percent };
      if (canary.endpoints.length === 0 || endpoints.length === 0)
        throw new DeployFailedError(
          `canary step at ${action.percent}%: ${canary.endpoints.length === 0 ? 'the new' : 'the stable'} revision has no running container`,
        );
      await ctx.traffic.route(app, endpoints, { canary, ...(ctx.accessLog ? { accessLog: ctx.accessLog } : {}) });
      progress.executed.endpoints = [...endpoints, ...canary.endpoints];
      ctx.onCanaryStep?.(action);
      // The new containers take traffic now: a shutdown leaves them to the next berth, which judges the step.
      progress.switched = true;
      return {
        step: 'canary',
        message: `Canary: ${action.percent}% of requests to the new revision (${action.reason})`,
        fields: { percent: action.percent, canaryStep: action.step + 1 },
      };
    }
    case 'unroute':
      await ctx.traffic.unroute(ctx.name);
      return undefined;
    case 'untag':
      await untag(action, ctx, progress.executed);
      return undefined;
    case 'retag':
      if (action.previous) await runtime.tagImage(action.previous, action.repository, 'previous');
      await runtime.tagImage(action.latest, action.repository, 'latest');
      return {
        message: `${action.repository}:latest now points at the deployed image`,
        fields: { image: `${action.repository}:latest` },
      };
    case 'release':
      await release(action, ctx);
      return undefined;
    case 'postDeploy':
      await postDeploy(action, ctx, progress);
      return undefined;
    case 'probe':
      await probe(action, ctx, progress);
      return undefined;
    case 'rollback':
      await rollBack(action, action.reason, ctx, progress);
      return undefined;
    case 'sweepSecrets':
      return sweepSecrets(action, ctx);
    case 'retire':
      logger.info(
        { step: 'retire', containers: action.containers.map((c) => c.name) },
        `Shutting down ${action.containers.length} old container(s): ${action.reason}`,
      );
      for (const container of action.containers) {
        await runtime.stopContainer(container.id, ctx.stopTimeoutSeconds);
        await runtime.removeContainer(container.id);
      }
      return {
        message: `Retired ${action.containers.map((c) => c.name).join(', ')}`,
        fields: { containers: action.containers.map((c) => c.name) },
      };
  }
}

/** How often a running release container is looked at. */
const RELEASE_POLL_MS = 250;

/**
 * The release step, at most one at a time per app: a release container of this revision left by
 * an earlier berth is waited for (or judged, when it has ended) instead of starting another.
 * Release containers of other revisions are waited for, then removed. Aborting (shutdown) leaves
 * a running release alone; the next berth finds it by its labels.
 */
async function release(action: Extract<Action, { type: 'release' }>, ctx: ExecuteContext): Promise<void> {
  const app = requireApp(ctx, action);
  const { runtime, logger, namespace, name } = ctx;
  const command = JSON.stringify(action.hook.command);
  const timeoutMs = action.hook.timeout * 1000;
  const existing = await runtime.listRoleContainers(namespace, name, RELEASE_ROLE);
  for (const stale of existing.filter((c) => c.labels[LABEL_REVISION] !== action.revision)) {
    if (stale.state === 'running') await waitForExit(ctx, stale.id, timeoutMs).catch(() => undefined);
    await runtime.stopContainer(stale.id, 0).catch(() => undefined);
    await runtime.removeContainer(stale.id);
  }
  const left = existing.find((c) => c.labels[LABEL_REVISION] === action.revision);
  let id = left?.id;
  if (left?.state === 'created') await runtime.startContainer(left.id);
  if (id === undefined) {
    logger.info({ step: 'release-step', command: action.hook.command }, `Running the release step ${command}...`);
    if (app.spec.resolved) await secretFilesFor(app.spec.resolved);
    id = await runtime.createContainer(action.spec);
    await runtime.startContainer(id);
  } else {
    logger.info(
      { step: 'release-step', command: action.hook.command },
      `The release step ${command} of this revision is already under way; waiting for it`,
    );
  }
  const begin = ctx.clock.now();
  const ended = await waitForExit(ctx, id, timeoutMs);
  const output = lastLinesOf(
    await runtime.containerLogs(id, LOG_TAIL_LINES, secretValues(app.spec)).catch(() => ''),
    LOG_TAIL_LINES,
  ).trimEnd();
  if (ended === undefined) await runtime.stopContainer(id, 0).catch(() => undefined);
  await runtime.removeContainer(id);
  if (ended === 0) {
    ctx.onReleased(action.revision);
    logger.info(
      { step: 'release-step', result: 'passed', durationMs: ctx.clock.now() - begin, ...(output ? { output } : {}) },
      `Release step ${command} succeeded`,
    );
    return;
  }
  if (output !== '')
    logger.warn({ step: 'release-step', output }, `Release step output (last ${LOG_TAIL_LINES} lines)`);
  throw new ReleaseFailedError(
    ended === undefined
      ? `the release step ${command} did not finish within ${action.hook.timeout}s`
      : `the release step ${command} exited with code ${ended}`,
    output,
  );
}

/**
 * Removes the digest directories the plan names under the app's secrets directory (the directory
 * itself when the plan keeps none), after checking it again as observing did: nothing is removed
 * through a directory that fails its checks (said in a warning; the app is not disturbed).
 */
async function sweepSecrets(action: Extract<Action, { type: 'sweepSecrets' }>, ctx: ExecuteContext): Promise<StepDone> {
  let verified: string;
  try {
    verified = await ensurePrivateDirectory(action.root, { secret: true });
  } catch (error) {
    if (!(error instanceof UnsafeDirectoryError)) throw error;
    if (error.reason === 'does not exist') return undefined;
    ctx.logger.warn(
      { step: 'secrets', reason: error.message },
      `Not sweeping the secret files of ${ctx.name}: ${error.message}`,
    );
    return undefined;
  }
  const entries = action.keep.length === 0 ? [] : action.remove;
  const stray = entries.find((entry) => entry !== basename(entry) || entry === '.' || entry === '..');
  if (stray !== undefined) throw new Error(`sweepSecrets: "${stray}" is not an entry of ${action.root}`);
  // rm removes a link it meets, never what it points at.
  if (action.keep.length === 0) await rm(verified, { recursive: true, force: true });
  for (const entry of entries) await rm(join(verified, entry), { recursive: true, force: true });
  const digests = action.remove.map((d) => d.slice(0, 12));
  return {
    step: 'secrets',
    message:
      action.keep.length === 0
        ? `Removed the secret files of ${ctx.name} and their directory ${verified}: no container of it mounts any`
        : `Removed the secret files of ${ctx.name} that no container mounts: ${digests.join(', ')}`,
    fields: { digests: action.remove },
  };
}

/** The container's exit code once it stopped running, or undefined when `timeoutMs` passed since it started. */
async function waitForExit(ctx: ExecuteContext, id: string, timeoutMs: number): Promise<number | undefined> {
  for (;;) {
    const detail = await ctx.runtime.inspectContainer(id);
    if (detail.state !== 'running' && detail.state !== 'created' && detail.state !== 'restarting')
      return detail.exitCode;
    const started = detail.startedAt > 0 ? detail.startedAt : ctx.clock.now();
    if (ctx.clock.now() - started >= timeoutMs) return undefined;
    await ctx.clock.sleep(RELEASE_POLL_MS, ctx.signal);
  }
}

/** The post-deploy command in one new container; how it ended goes to the log and the deploy's history. */
async function postDeploy(
  action: Extract<Action, { type: 'postDeploy' }>,
  ctx: ExecuteContext,
  progress: Progress,
): Promise<void> {
  const command = JSON.stringify(action.hook.command);
  const id = progress.ids.get(action.container) ?? action.container;
  const result = await ctx.runtime
    .execInContainer(id, action.hook.command, action.hook.timeout * 1000, ctx.app ? secretValues(ctx.app.spec) : [])
    .catch((error: Error) => ({ outcome: 'error' as const, output: error.message }));
  const output = lastLinesOf(result.output, LOG_TAIL_LINES).trimEnd();
  if (result.outcome === 'exited' && result.exitCode === 0) {
    progress.executed.postDeploy = 'succeeded';
    ctx.logger.info(
      { step: 'post-deploy', container: action.container, result: 'passed' },
      `Post-deploy ${command} succeeded in ${action.container}`,
    );
    return;
  }
  const why =
    result.outcome === 'exited'
      ? `exited with code ${result.exitCode}`
      : result.outcome === 'timed-out'
        ? `did not finish within ${action.hook.timeout}s`
        : `could not run: ${output}`;
  const last = lastLine(output);
  progress.executed.postDeploy = `failed: ${why}${last && result.outcome !== 'error' ? `: ${last}` : ''}`;
  progress.executed.postDeployFailure = {
    ...(result.outcome === 'exited' ? { exitCode: result.exitCode } : {}),
    ...(output && result.outcome !== 'error' ? { output } : {}),
  };
  ctx.logger.warn(
    { step: 'post-deploy', container: action.container, result: 'failed', ...(output ? { output } : {}) },
    `Post-deploy ${command} ${why} in ${action.container}; the deploy stands`,
  );
}

/** How much of a post-deploy command's last line its result quotes. */
const LAST_LINE_CHARS = 200;

function lastLine(output: string): string {
  const line = output.split('\n').pop()?.trim() ?? '';
  return line.length > LAST_LINE_CHARS ? `${line.slice(0, LAST_LINE_CHARS)}...` : line;
}

/** Probes the new containers' checks once more (a second try half a second later); a failure rolls back. */
async function probe(
  action: Extract<Action, { type: 'probe' }>,
  ctx: ExecuteContext,
  progress: Progress,
): Promise<void> {
  const app = requireApp(ctx, action);
  const once: App = {
    ...app,
    spec: {
      ...app.spec,
      checks: {
        ...app.spec.checks,
        http: app.spec.checks.http.map((c) => ({ ...c, attempts: PROBE_ATTEMPTS, wait: 0 })),
        exec: app.spec.checks.exec.map((c) => ({ ...c, attempts: PROBE_ATTEMPTS, wait: 0 })),
      },
    },
  };
  const ids = action.containers.map((name) => progress.ids.get(name) ?? name);
  try {
    await runChecks({ ...ctx, logger: silentLogger() }, once, ids, ctx.signal);
  } catch (error) {
    if (ctx.signal.aborted || !(error instanceof CheckFailedError)) throw error;
    await rollBack(
      action.rollback,
      `${error.message} within deploy.monitor (${app.spec.deploy.monitor}s) after the switch`,
      ctx,
      progress,
    );
  }
}

const PROBE_ATTEMPTS = 2;

/** Traffic back to the previous revision (still running), then the failed containers stopped and removed. */
async function rollBack(
  target: RollbackTarget,
  reason: string,
  ctx: ExecuteContext,
  progress: Progress,
): Promise<void> {
  const app = requireApp(ctx, { type: 'rollback', reason, ...target });
  const endpoints = servingEndpoints(app, target.to, await ctx.runtime.listContainers(ctx.namespace, ctx.name));
  await ctx.traffic.route(app, endpoints);
  progress.executed.endpoints = endpoints;
  progress.executed.rolledBack = { from: target.from, to: target.to, reason };
  ctx.onRolledBack(target.from, target.to, reason);
  ctx.logger.warn(
    { step: 'rollback', reason, revision: target.from, to: target.to },
    `Rolled back: traffic is on the previous revision again; ${reason}`,
  );
  if (target.latest !== undefined) {
    if (target.previous !== undefined) await ctx.runtime.tagImage(target.previous, target.repository, 'previous');
    await ctx.runtime.tagImage(target.latest, target.repository, 'latest');
  }
  // Requests the proxy took before the switch back may still be in the failed containers: let them finish.
  if (ctx.traffic.drainMs !== undefined && target.containers.length > 0)
    await ctx.clock.sleep(ctx.traffic.drainMs, ctx.signal);
  for (const container of target.containers) {
    await ctx.runtime.stopContainer(container.id, ctx.stopTimeoutSeconds).catch(() => undefined);
    await ctx.runtime.removeContainer(container.id);
  }
}

/** Untags each of the action's refs; one the engine will not untag is left for the next deploy, with a warning. */
async function untag(
  action: Extract<Action, { type: 'untag' }>,
  ctx: ExecuteContext,
  executed: Executed,
): Promise<void> {
  const released: string[] = [];
  for (const ref of action.refs) {
    try {
      await ctx.runtime.untagImage(ref);
      released.push(ref);
    } catch (error) {
      if (!(error instanceof RuntimeError)) throw error;
      ctx.logger.warn(
        { step: 'release', image: ref, reason: error.message },
        `Could not untag ${ref}; will try after the next deploy`,
      );
    }
  }
  executed.untagged.push(...released);
  if (released.length > 0)
    ctx.logger.info({ step: 'release', images: released }, `Untagged ${released.join(', ')} (${action.reason})`);
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
    () =>
      deadline.abort(
        new CheckFailedError(
          '',
          `the deploy did not pass its checks within deploy.progressDeadline (${app.spec.deploy.progressDeadline}s)`,
        ),
      ),
    app.spec.deploy.progressDeadline * 1000,
  );
  ctx.logger.info({ step: 'checks', containers: names }, 'Running pre-flight checks');
  try {
    await runChecks(
      ctx,
      app,
      checked.map((c) => c.id),
      AbortSignal.any([ctx.signal, deadline.signal]),
    );
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    const reason =
      error instanceof CheckFailedError ? error.message : `checks could not run: ${(error as Error).message}`;
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
    await ctx.runtime
      .removeContainer(container.id)
      .catch((error: unknown) =>
        ctx.logger.warn({ err: error, container: container.name }, 'could not remove a failed container'),
      );
  }
  for (const container of progress.stopped) {
    await ctx.runtime
      .startContainer(container.id)
      .catch((error: unknown) =>
        ctx.logger.error({ err: error, container: container.name }, 'could not restart the old container'),
      );
  }
  const removed = new Set(progress.started.map((c) => c.id));
  // Said only when true: a revision that crash-loops may have left nothing else running.
  const othersServe =
    progress.stopped.length > 0 || ctx.observed.some((c) => c.state === 'running' && !removed.has(c.id));
  ctx.logger.warn(
    { step: 'rollback', removed: progress.started.map((c) => c.name), restarted: progress.stopped.map((c) => c.name) },
    `Removed the new container(s); ${
      othersServe ? 'the previous revision keeps serving' : 'no other container of the app runs: nothing serves it'
    }`,
  );
}

async function logContainerOutput(ctx: ExecuteContext, container: ContainerRef): Promise<void> {
  const output = lastLinesOf(
    await ctx.runtime
      .containerLogs(container.id, LOG_TAIL_LINES, ctx.app ? secretValues(ctx.app.spec) : [])
      .catch(() => ''),
    LOG_TAIL_LINES,
  );
  if (output.trim() !== '')
    ctx.logger.warn(
      { step: 'checks', container: container.name, output },
      `${container.name} container output (last ${LOG_TAIL_LINES} lines)`,
    );
}

function uniqueRefs(refs: ContainerRef[]): ContainerRef[] {
  return [...new Map(refs.map((r) => [r.id, r])).values()];
}

/**
 * The app's secret files written for a container to mount; a secrets directory that fails its
 * check fails the deploy, in one line.
 */
async function secretFilesFor(resolved: ResolvedSecrets): Promise<void> {
  try {
    await materializeSecretFiles(resolved);
  } catch (error) {
    if (error instanceof UnsafeDirectoryError)
      throw new DeployFailedError(`refusing to write secret files: ${error.message}`, { cause: error });
    throw error;
  }
}
