/**
 * The canary's part of the plan (pure): whether a new revision goes through `deploy.canary`'s
 * steps, and what a step under way asks for once nginx's numbers are judged.
 *
 * A canary runs only with `--proxy nginx` (whose access log `run` reads), a revision serving now and a
 * zero-downtime rollout: the first step is routed once the new containers pass their checks;
 * each later look judges the step (judgeCanaryStep): wait, the next step, the promotion (the
 * ordinary switch, retag and post-deploy of a rollout) or the abort (the ordinary rollback: traffic
 * back to the stable revision, the canary held). progressDeadline, from the first step, bounds it.
 */
import { judgeCanaryStep, type CanaryVerdict } from '../../proxy/access-log/judge-canary-step.js';
import type { App, CanarySpec } from '../../manifest/types.js';
import type { ContainerSummary } from '../../runtime/types.js';
import { revisionKey } from '../core/revision.js';
import type { Action, CanaryNote, ContainerRef, ObservedCanary, Observation, Plan } from './actions.js';
import { servingEndpoints } from './serving.js';

/** How often a step under way is judged again (besides the engine's events). */
export const CANARY_LOOK_MS = 1_000;

/**
 * Whether `revision`, about to take traffic, goes through a canary: its spec, or why not (a note
 * for the outcome message, undefined when the app has no canary).
 */
export function canaryFor(
  observation: Observation,
  app: App,
  strategy: 'zero-downtime' | 'recreate',
): { spec: CanarySpec; stableRevision: string } | { note?: string } {
  const spec = app.spec.deploy.canary;
  if (spec === undefined) return {};
  if (!observation.proxy)
    return {
      note: ' (deploy.canary skipped: a canary is a split in nginx, and berth runs without --proxy nginx; switched at once)',
    };
  const serving = observation.serving;
  const stableRunning =
    serving !== undefined && servingEndpoints(app, serving.revision, observation.containers).length > 0;
  if (serving === undefined || !stableRunning)
    return { note: ' (deploy.canary skipped: no revision serves to compare with; switched at once)' };
  if (strategy === 'recreate' || app.spec.replicas === 0)
    return { note: ' (deploy.canary skipped: the old revision does not run beside the new; switched at once)' };
  return { spec, stableRevision: serving.revision };
}

/** The first step's action and note: `spec.steps[0]` percent to `revision`. */
export function firstCanaryStep(
  revision: string,
  stableRevision: string,
  spec: CanarySpec,
): { action: Action; note: CanaryNote } {
  const percent = spec.steps[0] ?? 0;
  const reason = `checks passed; canary step 1 of ${spec.steps.length}: ${percent}% of requests`;
  return {
    action: { type: 'canaryStep', revision, stableRevision, percent, step: 0, reason },
    note: { kind: 'step', revision, step: 0, percent, reason },
  };
}

/** What the planner knows of the rollout when a canary of its revision is under way. */
export interface CanaryUnderWay {
  app: App;
  /** The canary's revision key (the manifest's revision). */
  revision: string;
  canary: ObservedCanary;
  /** The canary's containers kept in their slots, and the slots with none. */
  kept: readonly ContainerSummary[];
  missingSlots: number;
  /** What the planner already asks before judging (mirror tags, dead containers removed). */
  actions: Action[];
  /** A route that puts the split back when the proxy lost it; empty when it holds. */
  routeRepair: Action[];
  /** The promotion: switch, retag, post-deploy, untag, as an ordinary rollout ends (given the planner's ways). */
  promote(): Plan;
  repository: string;
}

/** One look at a step under way: judged on nginx's numbers, or ended by the deadline or a lost container. */
export function planCanaryUnderWay(observation: Observation, w: CanaryUnderWay): Plan {
  const { canary, app, revision } = w;
  const spec = app.spec.deploy.canary;
  const note = (kind: CanaryNote['kind'], reason: string, verdict?: CanaryVerdict): CanaryNote => ({
    kind,
    revision,
    step: canary.step,
    percent: canary.percent,
    reason,
    ...(verdict ? { numbers: verdict.canary } : {}),
  });
  const abort = (why: string, verdict?: CanaryVerdict, said?: string): Plan => {
    const reason = said ?? `the canary at ${canary.percent}% failed: ${why}`;
    // Traffic back first: a canary container the planner removes (it stopped) may still be in the split.
    return {
      actions: [
        {
          type: 'rollback',
          to: canary.stableRevision,
          from: revision,
          containers: w.kept.map(refOf),
          repository: w.repository,
          reason,
        },
        ...w.actions,
      ],
      outcome: { phase: 'Degraded', message: `rolled back: ${reason}` },
      canary: note('abort', reason, verdict),
    };
  };
  if (observation.canaryDecision === 'abort')
    return abort('', undefined, `the canary at ${canary.percent}% was aborted by \`berth abort\``);
  const lost = w.kept.filter((c) => c.state !== 'running');
  if (w.missingSlots > 0 || lost.length > 0)
    return abort(`${w.missingSlots + lost.length} of its ${app.spec.replicas} container(s) stopped`);
  if (spec === undefined || !observation.proxy)
    return abort(
      spec === undefined
        ? 'deploy.canary was removed from the manifest mid-canary'
        : 'berth runs without --proxy nginx now, and the split was nginx',
    );
  if (observation.canaryDecision === 'promote') {
    const promoted = w.promote();
    const reason = `promoted at ${canary.percent}% by \`berth promote\`: 100% of requests`;
    return { ...promoted, actions: [...w.actions, ...promoted.actions], canary: note('promote', reason) };
  }
  const deadline = canary.startedAt + app.spec.deploy.progressDeadline * 1000;
  if (observation.now >= deadline)
    return abort(`it did not finish within deploy.progressDeadline (${app.spec.deploy.progressDeadline}s)`);
  if (canary.stats === undefined)
    // `berth plan`: the running berth reads nginx's access log, not this process.
    return {
      actions: [...w.actions, ...w.routeRepair],
      outcome: { phase: 'Deploying', message: `canary at ${canary.percent}%: judged by the running berth` },
      canary: note('wait', `${canary.percent}%: judged by the running berth`),
      requeueAfterMs: CANARY_LOOK_MS,
    };
  const verdict = judgeCanaryStep({
    canary: canary.stats.canary,
    stable: canary.stats.stable,
    spec,
    stepStartedAt: canary.stepStartedAt,
    now: observation.now,
    percent: canary.percent,
  });
  if (verdict.kind === 'abort') return abort(verdict.reason, verdict);
  if (verdict.kind === 'wait')
    return {
      actions: [...w.actions, ...w.routeRepair],
      outcome: { phase: 'Deploying', message: `canary ${verdict.reason}` },
      canary: note('wait', verdict.reason, verdict),
      requeueAfterMs: Math.min(CANARY_LOOK_MS, Math.max(0, deadline - observation.now)),
    };
  const next = canary.step + 1;
  const percent = spec.steps[next];
  if (percent === undefined) {
    const promoted = w.promote();
    const reason = `every step passed (${spec.steps.join('%, ')}%): 100% of requests`;
    return {
      ...promoted,
      actions: [...w.actions, ...promoted.actions],
      canary: { ...note('promote', reason, verdict) },
    };
  }
  const reason = `step ${canary.step + 1} passed at ${canary.percent}% (${verdict.canary.errorRate.toFixed(1)}% errors over ${verdict.canary.requests} requests); canary step ${next + 1} of ${spec.steps.length}: ${percent}% of requests`;
  return {
    actions: [
      ...w.actions,
      { type: 'canaryStep', revision, stableRevision: canary.stableRevision, percent, step: next, reason },
    ],
    outcome: { phase: 'Deploying', message: `canary at ${percent}% of requests` },
    canary: { kind: 'step', revision, step: next, percent, reason, numbers: verdict.canary },
    requeueAfterMs: CANARY_LOOK_MS,
  };
}

/**
 * The split the proxy should hold while `canary` runs: the stable revision's endpoints, and the
 * canary's with its percent.
 */
export function canaryRoute(
  app: App,
  canary: Pick<ObservedCanary, 'revision' | 'stableRevision' | 'percent'>,
  containers: readonly ContainerSummary[],
): { endpoints: string[]; canary: { endpoints: string[]; percent: number } } {
  return {
    endpoints: servingEndpoints(app, canary.stableRevision, containers),
    canary: { endpoints: servingEndpoints(app, canary.revision, containers), percent: canary.percent },
  };
}

/** True when the containers' revision is `revision`. */
export function ofRevision(revision: string): (c: ContainerSummary) => boolean {
  return (c) => revisionKey(c) === revision;
}

function refOf(c: ContainerSummary): ContainerRef {
  return { id: c.id, name: c.name };
}
