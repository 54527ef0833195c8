/**
 * The Swarm planner: a pure function from what berth observes of one app's service to the actions
 * that move it toward its manifest, each with a reason, and the outcome to report. Swarm itself
 * rolls tasks out, restarts them and reschedules them when a node is lost; berth sends a spec only
 * when it differs (an unchanged update would reset Swarm's update status), and watches.
 *
 * A rollout: push the image (`--swarm-registry`, in a round of its own: the spec names the digest
 * the push gives), make the Docker secrets the spec mounts, run the release step as a Swarm job of
 * the new revision (once per revision: plan-jobs.ts), create or update the service, watch it to its
 * end (the proxy following new tasks), route to what runs then, sweep the secrets no spec mounts
 * any more, run the post-deploy command as a job. A failed release step holds its revision. Once Swarm completed an update, the next pass watches the new tasks for
 * deploy.monitor (monitor.ts). A revision rolled back (by Swarm, or by berth past the deadline or
 * within deploy.monitor) is held: it is not sent again until the manifest changes what berth would
 * send, or `berth retry`; the hold is berth's record and the swarm's (hold.ts: the service's
 * labels, written once the rollback is done), so a berth with an empty state directory finds it.
 * A removed manifest removes the service at once, held or not.
 */
import { imageRef } from '../../manifest/image-ref.js';
import type { App } from '../../manifest/types.js';
import type { ServiceSpec, ServiceSummary } from '../../runtime/services.js';
import type { Desired } from '../core/desired.js';
import type { Rollout } from '../core/outcome.js';
import {
  serviceHashOf,
  specHashOf,
  type HeldSpec,
  type SwarmAction,
  type SwarmObservation,
  type SwarmPlan,
} from './actions.js';
import { digestOf, holdLabels, holdToRecord } from './hold.js';
import { planMonitor } from './monitor.js';
import { everyJob, leftoverJobs, postDeployAfter, releaseAround } from './plan-jobs.js';
import { swarmSecretsFor } from './service-spec.js';
import { unusedSecrets } from './secrets.js';
import { GIVEN_UP, pastDeadline, runningTasks } from './watch.js';

export type { SwarmAction, SwarmObservation, SwarmPlan } from './actions.js';
export { runningTasks } from './watch.js';

export function planService(observation: SwarmObservation): SwarmPlan {
  if (observation.role === 'standby') return planStandby(observation, planAsLeader(observation));
  return planAsLeader(observation);
}

function planAsLeader(observation: SwarmObservation): SwarmPlan {
  const { desired } = observation;
  if (desired.kind === 'absent') return planRemoval(observation, desired);
  const plan = planPresent(observation, desired.app);
  if (desired.invalid !== undefined) plan.outcome = { phase: 'Invalid', message: desired.invalid };
  return plan;
}

/** No manifest: the route, the service and every Docker secret of the app go (unless removal is held); a held revision never stops that. */
function planRemoval(observation: SwarmObservation, desired: Extract<Desired, { kind: 'absent' }>): SwarmPlan {
  const { service } = observation;
  const unroute: SwarmAction[] = observation.route?.held
    ? [{ type: 'unroute', reason: 'its manifest was removed' }]
    : [];
  if (!service)
    return desired.invalid !== undefined
      ? { actions: [], outcome: { phase: 'Invalid', message: desired.invalid } }
      : {
          actions: [...unroute, ...everyJob(observation), ...unusedSecrets(observation.secrets, undefined)],
          outcome: { phase: 'Running', message: 'removed' },
          gone: true,
        };
  if (desired.hold !== undefined)
    return { actions: [], outcome: { phase: 'Running', message: `manifest gone, removal held: ${desired.hold}` } };
  return {
    actions: [
      ...unroute,
      { type: 'remove', id: service.id, reason: 'its manifest was removed' },
      ...everyJob(observation),
      ...unusedSecrets(observation.secrets, undefined),
    ],
    outcome: { phase: 'Running', message: 'removed' },
    gone: true,
  };
}

function planPresent(observation: SwarmObservation, app: App): SwarmPlan {
  const { service, wanted, tasks } = observation;
  const { spec } = app;
  const ref = imageRef(spec.image, spec.tag);
  const running = service ? runningTasks(tasks, service.specHash) : 0;
  if (observation.imageMissing) {
    const serving = running > 0 ? '; the running service keeps serving' : '';
    return {
      actions: [],
      outcome: {
        phase: 'Pending',
        message: `waiting for image ${ref} (docker load, docker tag or a push to its registry)${serving}`,
      },
    };
  }
  if (observation.publish) {
    const { source, target } = observation.publish;
    return {
      actions: [
        {
          type: 'push',
          source,
          target,
          reason: `${source} is on this host only: every node pulls it from the swarm's registry`,
        },
      ],
      outcome: { phase: 'Deploying', message: `pushing ${target}` },
    };
  }
  if (!wanted || 'refused' in wanted) {
    const reason = wanted && 'refused' in wanted ? wanted.refused : 'no service spec';
    return { actions: [], outcome: { phase: running > 0 ? 'Degraded' : 'Failed', message: reason }, refused: reason };
  }
  const next = wanted.spec;
  const rollout = rolloutOf(app, next);
  const held = [observation.held, swarmHoldOf(observation)].find((h) => isHeld(h, rollout.revision, next));
  const runningMessage = `${spec.replicas} × ${ref} running`;
  const deadlineMs = spec.deploy.progressDeadline * 1000;
  const follow = observation.route !== undefined;
  const after = afterSending(observation, app);
  const release = releaseAround(observation, app, next, rollout.revision);

  if (!service) {
    if (held) return planHeld(observation, app, held, next);
    return {
      actions: [
        ...makeSecrets(observation, app),
        ...release.before,
        { type: 'create', spec: next, reason: `deploy ${ref}` },
        ...release.after,
        {
          type: 'watch',
          spec: next,
          until: 'running',
          deadlineMs,
          follow,
          reason: `until ${spec.replicas} task(s) run`,
        },
        ...after,
        ...postDeployAfter(observation, app, next, rollout.revision),
      ],
      outcome: { phase: 'Running', message: runningMessage },
      rollout,
    };
  }
  if (service.serviceHash !== serviceHashOf(next)) {
    if (held) return planHeld(observation, app, held, next);
    const rolling = service.specHash !== specHashOf(next) || service.image !== next.image;
    return {
      actions: [
        ...makeSecrets(observation, app),
        ...(rolling ? release.before : []),
        {
          type: 'update',
          id: service.id,
          version: service.version,
          spec: next,
          rolling,
          reason: rolling ? `roll out ${ref}` : 'the service spec changed (replicas, checks or update settings)',
        },
        ...(rolling ? release.after : leftoverJobs(observation)),
        rolling
          ? {
              type: 'watch',
              spec: next,
              until: 'updated',
              deadlineMs,
              follow,
              reason: 'until Swarm completes the update',
            }
          : {
              type: 'watch',
              spec: next,
              until: 'running',
              deadlineMs,
              follow,
              reason: `until ${spec.replicas} task(s) run`,
            },
        ...after,
        ...(rolling ? postDeployAfter(observation, app, next, rollout.revision) : []),
      ],
      outcome: { phase: 'Running', message: runningMessage },
      ...(rolling ? { rollout, ...monitoredAfter(app) } : {}),
    };
  }
  if (service.update.state === 'updating') return planResumed(observation, app, service, next, rollout);
  // Swarm gave the held spec up but still names it (a pause, or a rollback under way): it stays held.
  if (held && GIVEN_UP.has(service.update.state)) return planHeld(observation, app, held, next);

  // Within deploy.monitor after Swarm completed the update, the new tasks are watched (last: it takes the window).
  const monitor = planMonitor(observation, app, service, next, rollout.revision);
  const actions = [
    ...routeToRunning(observation),
    ...unusedSecrets(observation.secrets, service),
    ...leftoverJobs(observation),
    ...(monitor ? [monitor] : []),
  ];
  // A pass watches a slice of the window: the next one, at once, watches on.
  const later = monitor && monitor.lookUntil < monitor.since + monitor.windowMs ? { requeueAfterMs: 0 } : {};
  if (running < spec.replicas)
    return {
      actions,
      outcome: {
        phase: 'Degraded',
        message: `${running} of ${spec.replicas} replicas of ${ref} running (Swarm is rescheduling)`,
      },
      runs: rollout,
      ...later,
    };
  return { actions, outcome: { phase: 'Running', message: runningMessage }, runs: rollout, ...later };
}

/** How soon a held app is looked at again while Swarm still rolls it back, to write the hold onto the service. */
const HOLD_RECHECK_MS = 2_000;

/** A rollout whose new tasks the next pass watches for deploy.monitor, once Swarm completes it: that pass comes at once. */
function monitoredAfter(app: App): Pick<SwarmPlan, 'monitorAfterMs' | 'requeueAfterMs'> {
  const monitorMs = app.spec.deploy.monitor * 1000;
  return monitorMs > 0 ? { monitorAfterMs: monitorMs, requeueAfterMs: 0 } : {};
}

/**
 * Swarm is rolling out the spec berth wants already (berth restarted mid-rollout): nothing is
 * sent; the rollout is watched to its end, or, when it has run past deploy.progressDeadline
 * already, Swarm is asked to roll it back.
 */
function planResumed(
  observation: SwarmObservation,
  app: App,
  service: ServiceSummary,
  next: ServiceSpec,
  rollout: Rollout,
): SwarmPlan {
  const { spec } = app;
  const deadlineMs = spec.deploy.progressDeadline * 1000;
  const since = service.update.startedAt;
  if (since !== undefined && observation.now > since + deadlineMs) {
    const rollback = pastDeadline(service, next, observation.tasks);
    const running = observation.tasks.some((t) => t.state === 'running' && t.desiredState === 'running');
    return {
      actions: [...leftoverJobs(observation), rollback],
      outcome: { phase: running ? 'Degraded' : 'Failed', message: `deploy failed: ${rollback.failure}` },
      rollout,
    };
  }
  return {
    actions: [
      {
        type: 'watch',
        spec: next,
        until: 'updated',
        // Without Swarm's start time, the deadline runs from now.
        since: since ?? observation.now,
        deadlineMs,
        follow: observation.route !== undefined,
        reason: 'Swarm is rolling it out already (berth restarted mid-rollout)',
      },
      ...leftoverJobs(observation),
      ...afterSending(observation, app),
      ...postDeployAfter(observation, app, next, rollout.revision),
    ],
    outcome: { phase: 'Running', message: `${spec.replicas} × ${imageRef(spec.image, spec.tag)} running` },
    rollout,
    ...monitoredAfter(app),
  };
}

/**
 * The held revision is not sent again; what serves keeps serving (and routed), and secrets no spec
 * mounts still go. Degraded while a task runs, Failed when none does. Once Swarm has finished
 * rolling back, the hold is written onto the service too, unless it shows it already.
 */
function planHeld(observation: SwarmObservation, app: App, held: HeldSpec, next: ServiceSpec): SwarmPlan {
  const ref = imageRef(app.spec.image, app.spec.tag);
  const anyRunning = observation.tasks.some((t) => t.state === 'running' && t.desiredState === 'running');
  const serving = anyRunning ? 'the previous revision keeps serving' : 'nothing serves';
  const { service } = observation;
  // The held spec is the one berth would send: its service hash and image say exactly which.
  const hold: HeldSpec = { ...held, serviceHash: serviceHashOf(next), image: next.image };
  // Swarm is still rolling back: the hold is written once it is done, a moment from now.
  const rollingBack = service?.update.state === 'rollback_started';
  return {
    actions: [
      ...routeToRunning(observation),
      ...(service ? unusedSecrets(observation.secrets, service) : []),
      ...leftoverJobs(observation),
      ...(service && holdToRecord(service, hold)
        ? [
            {
              type: 'recordHold' as const,
              id: service.id,
              version: service.version,
              labels: holdLabels(hold),
              reason: 'kept in the swarm too: a berth started again, or on another manager, finds the hold',
            },
          ]
        : []),
    ],
    outcome: {
      phase: anyRunning ? 'Degraded' : 'Failed',
      message: `${ref} is held after it failed (${held.reason}); ${serving} until the manifest changes or \`berth retry ${app.name}\``,
    },
    hold,
    ...(rollingBack ? { requeueAfterMs: HOLD_RECHECK_MS } : {}),
  };
}

/**
 * Whether `held` is the spec about to be sent: the same revision and, when the hold knows it, the
 * same service hash (a held revision sent with other checks or replicas is a new attempt).
 */
/**
 * The hold the swarm shows, made as exact as berth's record allows: a hold read from the task
 * history names no service hash (tasks do not carry it), so it would hold the revision whatever
 * else the manifest changed since; when the state file holds the same revision, its service hash
 * says which spec failed (a change of checks alone is then sent again, as a manifest change should).
 */
function swarmHoldOf(observation: SwarmObservation): HeldSpec | undefined {
  const { swarmHeld, held } = observation;
  if (swarmHeld === undefined || swarmHeld.serviceHash !== undefined || held?.serviceHash === undefined)
    return swarmHeld;
  return swarmHeld.revision === held.revision ? { ...swarmHeld, serviceHash: held.serviceHash } : swarmHeld;
}

function isHeld(held: HeldSpec | undefined, revision: string, next: ServiceSpec): held is HeldSpec {
  return (
    held !== undefined &&
    held.revision === revision &&
    (held.serviceHash === undefined || held.serviceHash === serviceHashOf(next))
  );
}

/** The Docker secrets the spec mounts, made before it is sent. */
function makeSecrets(observation: SwarmObservation, app: App): SwarmAction[] {
  const secrets = swarmSecretsFor(observation.namespace, app);
  if (secrets.length === 0) return [];
  return [
    {
      type: 'makeSecrets',
      secrets: secrets.map(({ target: _target, ...secret }) => secret),
      reason: "the spec mounts them (named by their content's digest: one there already stands)",
    },
  ];
}

/** After the spec was sent and watched: the proxy to what runs, and the secrets no spec mounts away. */
function afterSending(observation: SwarmObservation, app: App): SwarmAction[] {
  const wanted = new Set(swarmSecretsFor(observation.namespace, app).map((s) => s.name));
  return [
    ...(observation.route !== undefined
      ? [{ type: 'follow' as const, reason: 'the proxy routes to the tasks that run once the rollout ends' }]
      : []),
    ...(observation.secrets.some((s) => !wanted.has(s.name))
      ? [{ type: 'sweepSecrets' as const, reason: 'secrets neither the new spec nor the one before it mounts go' }]
      : []),
  ];
}

/** How soon a standby looks again while the leader has work to do on the app (a rollout its proxy follows). */
export const STANDBY_FOLLOW_MS = 1_000;

/**
 * A standby's plan: what the leader's plan would do to the swarm is left to the leader (the
 * outcome says so); only this node's proxy follows the tasks that run (route, or unroute once the
 * app is gone). While the leader has work on the app, the standby looks again soon, so its proxy
 * follows the rollout's new tasks.
 */
function planStandby(observation: SwarmObservation, leaders: SwarmPlan): SwarmPlan {
  const proxy =
    observation.desired.kind === 'absent'
      ? observation.route?.held && !observation.service
        ? [{ type: 'unroute' as const, reason: 'the app is gone from the swarm' }]
        : []
      : observation.route?.endpoints.length
        ? routeToRunning(observation)
        : [];
  const leaderWork = leaders.actions.some((a) => a.type !== 'route' && a.type !== 'unroute');
  const updating = observation.service?.update.state === 'updating';
  return {
    actions: proxy,
    outcome: {
      phase: leaders.outcome.phase,
      message: `standby: ${leaderWork ? 'the leader acts on the swarm; ' : ''}${leaders.outcome.message}`,
    },
    // What runs and what is held, as the swarm shows them: the standby's status says so, and a takeover starts from it.
    ...(leaders.runs ? { runs: leaders.runs } : {}),
    ...(leaders.hold ? { hold: leaders.hold } : {}),
    ...(leaderWork || updating ? { requeueAfterMs: STANDBY_FOLLOW_MS } : {}),
  };
}

/** A route to the running tasks, when the proxy does not hold exactly that. */
function routeToRunning(observation: SwarmObservation): SwarmAction[] {
  const { route } = observation;
  if (!route || route.current) return [];
  return [
    {
      type: 'route',
      endpoints: route.endpoints,
      reason: route.held ? 'the proxy does not route to the running tasks' : 'the proxy has no route for the app',
    },
  ];
}

/** The rollout of `next`; its revision is `<specHash>@<digest>`. */
function rolloutOf(app: App, next: ServiceSpec): Rollout {
  const digest = digestOf(next.image);
  return {
    revision: `${specHashOf(next)}@${digest}`,
    imageId: digest,
    image: app.spec.image,
    tag: app.spec.tag,
    strategy: next.update.order === 'start-first' ? 'zero-downtime' : 'recreate',
  };
}
