/**
 * The Swarm executor: runs a plan's actions in order through the ServiceRuntime and the
 * TrafficRouter, and reports what it did in its record (even when it fails part-way). It writes
 * no state and decides nothing: where an action needs a fresh look (a watch, the route once a
 * rollout ended, the secrets sweep), it looks and hands what it saw to the pure function that
 * decides (watch.ts, monitor.ts, endpoints.ts, secrets.ts), then runs the actions that returns
 * through the same runner. A failed rollout rejects with RolloutFailed. A watch ends early when
 * the app's manifest changed (`superseded`): the plan's remaining actions are left to the next
 * pass, which plans from the new manifest.
 */
import type { App } from '../../manifest/types.js';
import type { TrafficRouter } from '../../proxy/types.js';
import { RuntimeError } from '../../runtime/errors.js';
import type { ServiceRuntime, ServiceSpec } from '../../runtime/services.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { Executed } from '../core/outcome.js';
import type { MonitorAction, SwarmAction, SwarmPlan, WatchAction } from './actions.js';
import { followRoutes } from './endpoints.js';
import { judgeMonitor } from './monitor.js';
import { runPostDeploy, runRelease, runRemoveJob, runRemoveReleaseJob } from './run-jobs.js';
import { unusedSecrets } from './secrets.js';
import { judgeRollout, taskFailure } from './watch.js';

/** A rollout that did not complete, in one line; `rolledBack`: Swarm rolled it back (or paused it), or berth asked it to. */
export class RolloutFailed extends Error {
  constructor(
    message: string,
    readonly rolledBack: boolean,
  ) {
    super(message);
    this.name = 'RolloutFailed';
  }
}

export interface SwarmExecuteContext {
  services: ServiceRuntime;
  traffic: TrafficRouter;
  clock: Clock;
  logger: Logger;
  namespace: string;
  name: string;
  /** The app being deployed (undefined when removing an app whose manifest is gone). */
  app?: App;
  /** How often a rollout is looked at while it runs. */
  pollMs: number;
  /** Called once a watch ended with the rollout done, before the next action: Swarm runs the new spec now. */
  onRolledOut(): void;
  /** Called once berth asked Swarm to roll `from` back to `to` (deploy.monitor found a failure): `from` is held. */
  onRolledBack?(from: string, to: string, reason: string, serviceHash: string): void;
  /** Whether the app's manifest changed since the plan was made: a watch then ends, superseded. */
  superseded?(): boolean;
  /** Called once the release step of `revision` succeeded (or its completed job is about to go): it never runs again. */
  onReleased?(revision: string): void;
  signal: AbortSignal;
}

/** What the executor did: the core's record, and what one action hands the next. */
export interface SwarmExecuted extends Executed {
  /** The id of each Docker secret the makeSecrets action made (or found), by name: the create or update mounts them. */
  secretIds: Map<string, string>;
  /** When the create or update was sent (a watch's deadline runs from it). */
  sentAt?: number;
  /** The pinned references pushed (`target@sha256:...`). */
  pushed: string[];
  /** Why a watch ended early (the manifest changed): the plan's remaining actions did not run. */
  superseded?: string;
}

/** An executor's record before it has done anything. */
export function nothingExecutedOnSwarm(): SwarmExecuted {
  return { tagged: [], untagged: [], endpoints: [], secretIds: new Map(), pushed: [] };
}

/** Runs `plan`; what it did accumulates in `executed`, which the caller reads whether or not it throws. */
export async function executeSwarmPlan(
  plan: SwarmPlan,
  ctx: SwarmExecuteContext,
  executed: SwarmExecuted,
): Promise<void> {
  for (const action of plan.actions) {
    await run(action, ctx, executed);
    if (executed.superseded !== undefined) return;
  }
}

/** The one action runner: every action, planned or judged during a watch, goes through it. */
async function run(action: SwarmAction, ctx: SwarmExecuteContext, executed: SwarmExecuted): Promise<void> {
  ctx.signal.throwIfAborted();
  const { services, logger, clock } = ctx;
  switch (action.type) {
    case 'push': {
      const pushed = await services.pushImage(action.source, action.target);
      executed.pushed.push(pushed);
      logger.info({ step: 'push', image: pushed }, `Pushed ${action.source} as ${pushed}`);
      return;
    }
    case 'makeSecrets':
      for (const secret of action.secrets) executed.secretIds.set(secret.name, await services.createSecret(secret));
      logger.info(
        { step: 'secrets', secrets: action.secrets.map((s) => s.name) },
        `Docker secret(s) ${action.secrets.map((s) => s.name).join(', ')} ready`,
      );
      return;
    case 'create':
      executed.sentAt = clock.now();
      await services.createService(action.spec, secretIdsFor(action.spec, executed));
      logger.info({ step: 'create', service: action.spec.name }, `Created service ${action.spec.name}`);
      return;
    case 'update':
      executed.sentAt = clock.now();
      await services.updateService(action.id, action.version, action.spec, secretIdsFor(action.spec, executed));
      logger.info(
        { step: 'update', service: action.spec.name, rolling: action.rolling },
        `Updated service ${action.spec.name}${action.rolling ? `: Swarm rolls it out ${action.spec.update.order}` : ''}`,
      );
      return;
    case 'release':
      return runRelease(action, ctx, executed);
    case 'postDeploy':
      return runPostDeploy(action, ctx, executed);
    case 'removeJob':
      return runRemoveJob(action, ctx);
    case 'removeReleaseJob':
      return runRemoveReleaseJob(action, ctx);
    case 'watch':
      return watch(action, ctx, executed);
    case 'follow': {
      if (!ctx.app) return;
      const [tasks, nodes] = await Promise.all([services.listTasks(ctx.namespace, ctx.name), services.listNodes()]);
      const route = followRoutes(ctx.app, tasks, nodes, { starting: false }, executed.endpoints);
      if (route) await run(route, ctx, executed);
      return;
    }
    case 'monitor':
      return monitor(action, ctx, executed);
    case 'revert':
      executed.sentAt = clock.now();
      await services.rollbackService(action.id, action.version);
      executed.rolledBack = { from: action.from, to: action.to, reason: action.reason };
      ctx.onRolledBack?.(action.from, action.to, action.reason, action.serviceHash);
      logger.warn(
        { step: 'rollback', reason: action.reason, revision: action.from, to: action.to },
        `Rolled back: Swarm returns ${ctx.name} to its previous spec; ${action.reason}`,
      );
      return;
    case 'recordHold':
      try {
        await services.labelService(action.id, action.version, action.labels);
        logger.info(
          { step: 'hold', revision: action.labels['berth.held-revision'] },
          `The hold of ${ctx.name} is kept on its service too: a berth started again, or on another manager, finds it`,
        );
      } catch (error) {
        if (!(error instanceof RuntimeError)) throw error;
        logger.warn({ step: 'hold', err: error }, `could not keep ${ctx.name}'s hold on its service: ${error.message}`);
      }
      return;
    case 'rollback':
      await services.rollbackService(action.id, action.version).catch((error: unknown) => {
        if (!(error instanceof RuntimeError)) throw error;
        logger.warn({ step: 'rollback', err: error }, 'could not ask Swarm to roll back');
      });
      throw new RolloutFailed(action.failure, true);
    case 'sweepSecrets': {
      let removals: SwarmAction[];
      try {
        const [secrets, [service]] = await Promise.all([
          services.listSecrets(ctx.namespace, ctx.name),
          services.listServices(ctx.namespace, ctx.name),
        ]);
        removals = unusedSecrets(secrets, service);
      } catch (error) {
        if (!(error instanceof RuntimeError)) throw error;
        logger.warn(
          { step: 'secrets', err: error },
          `could not remove ${ctx.name}'s unused Docker secrets: ${error.message}`,
        );
        return;
      }
      for (const removal of removals) await run(removal, ctx, executed);
      return;
    }
    case 'removeSecret':
      try {
        await services.removeSecret(action.id);
      } catch (error) {
        if (!(error instanceof RuntimeError)) throw error;
        logger.warn(
          { step: 'secrets', err: error },
          `could not remove ${ctx.name}'s unused Docker secret ${action.name}: ${error.message}`,
        );
      }
      return;
    case 'remove':
      await services.removeService(action.id);
      return;
    case 'route':
      if (!ctx.app) throw new Error(`route action for ${ctx.name} without a manifest`);
      await ctx.traffic.route(ctx.app, action.endpoints);
      executed.endpoints = action.endpoints;
      return;
    case 'unroute':
      await ctx.traffic.unroute(ctx.name);
      return;
  }
}

/** Looks at the rollout every poll and runs what `judgeRollout` makes of it, until it ends. */
async function watch(action: WatchAction, ctx: SwarmExecuteContext, executed: SwarmExecuted): Promise<void> {
  const { services, clock, logger, namespace, name } = ctx;
  const since = action.since ?? executed.sentAt ?? clock.now();
  const deadline = since + action.deadlineMs;
  if (action.since !== undefined) logger.info({ step: 'checks' }, `Swarm is rolling out ${name} already; watching it`);
  const nodes = action.follow ? await services.listNodes() : [];
  // An update's status is Swarm's a moment after it takes the spec: the first look waits a poll.
  if (action.until === 'updated') await clock.sleep(ctx.pollMs, ctx.signal);
  for (;;) {
    const [tasks, [service]] = await Promise.all([
      services.listTasks(namespace, name),
      action.until !== 'running' ? services.listServices(namespace, name) : Promise.resolve([]),
    ]);
    const verdict = judgeRollout(
      action,
      { ...(service ? { service } : {}), tasks, nodes, now: clock.now(), superseded: ctx.superseded?.() ?? false },
      { ...(ctx.app ? { app: ctx.app } : {}), since, deadline, routed: executed.endpoints },
    );
    for (const next of verdict.actions) await run(next, ctx, executed);
    const end = verdict.end;
    if (end?.kind === 'superseded') {
      executed.superseded = end.message;
      return;
    }
    if (end?.kind === 'done') {
      logger.info(end.fields, end.message);
      if (action.until !== 'rolledBack') ctx.onRolledOut();
      return;
    }
    if (end?.kind === 'failed') {
      // The rollback berth asked for stands as asked: the deploy is rolled back and held either way.
      if (action.until === 'rolledBack') {
        logger.warn({ step: 'rollback', reason: end.reason }, `${name}: ${end.reason}`);
        return;
      }
      const detail = end.swarmMessage !== undefined ? await failureDetail(action.spec, end.swarmMessage, ctx) : '';
      throw new RolloutFailed(`${end.reason}${detail}`, end.rolledBack);
    }
    await pause(ctx, ctx.pollMs);
  }
}

/** How often deploy.monitor looks at the new tasks (at least): a failure found a second late is found in time. */
const MONITOR_LOOK_MS = 1_000;

/** Looks at the new tasks until deploy.monitor has passed, and runs what `judgeMonitor` makes of each look. */
async function monitor(action: MonitorAction, ctx: SwarmExecuteContext, executed: SwarmExecuted): Promise<void> {
  const { services, clock, logger, namespace, name } = ctx;
  const endsAt = action.since + action.windowMs;
  logger.info(
    { step: 'monitor', until: new Date(endsAt).toISOString() },
    `Watching ${name}'s new tasks until ${new Date(endsAt).toISOString().slice(11, 19)} UTC (deploy.monitor)`,
  );
  for (;;) {
    const [tasks, [service]] = await Promise.all([
      services.listTasks(namespace, name),
      services.listServices(namespace, name),
    ]);
    const verdict = judgeMonitor(action, {
      ...(service ? { service } : {}),
      tasks,
      now: clock.now(),
      superseded: ctx.superseded?.() ?? false,
    });
    for (const next of verdict.actions) await run(next, ctx, executed);
    const end = verdict.end;
    if (end?.kind === 'superseded') {
      executed.superseded = end.message;
      return;
    }
    if (end?.kind === 'done') {
      logger.info({ step: 'monitor', result: 'passed' }, `${name}: ${end.message}`);
      return;
    }
    if (end?.kind === 'rolledBack' || end?.kind === 'later') return;
    const next = Math.min(Math.max(ctx.pollMs, MONITOR_LOOK_MS), Math.min(endsAt, action.lookUntil) - clock.now());
    await pause(ctx, Math.max(1, next));
  }
}

/** How often a watch looks whether the manifest changed between its looks at Swarm. */
const SUPERSEDED_LOOK_MS = 200;

/** Sleeps `ms`, or less: it ends as soon as the app's manifest changed. */
async function pause(ctx: SwarmExecuteContext, ms: number): Promise<void> {
  const until = ctx.clock.now() + ms;
  for (let left = ms; left > 0; left = until - ctx.clock.now()) {
    await ctx.clock.sleep(Math.min(left, SUPERSEDED_LOOK_MS), ctx.signal);
    if (ctx.superseded?.()) return;
  }
}

/** What the failing task says (`; task web.1: unhealthy container`), looked for a few times: Swarm sets it a moment after it decides. */
async function failureDetail(spec: ServiceSpec, swarmMessage: string, ctx: SwarmExecuteContext): Promise<string> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const detail = taskFailure(await ctx.services.listTasks(ctx.namespace, ctx.name), spec, swarmMessage);
    if (detail !== undefined) return detail;
    await ctx.clock.sleep(500, ctx.signal);
  }
  return '';
}

/** The ids of the secrets `spec` mounts, as the makeSecrets action made them. */
function secretIdsFor(spec: ServiceSpec, executed: SwarmExecuted): Map<string, string> {
  return new Map(
    spec.secrets.flatMap((s) => {
      const id = executed.secretIds.get(s.name);
      return id === undefined ? [] : [[s.name, id] as const];
    }),
  );
}
