/**
 * The Swarm planner: a pure function from what berth observes of one app's service to the one
 * call that moves it toward its manifest (create, update, remove), with the outcome to report.
 * Swarm itself rolls tasks out, restarts them and reschedules them when a node is lost; berth
 * sends a spec only when it differs (an unchanged update would reset Swarm's update status),
 * and watches.
 */
import { imageRef } from '../../manifest/image-ref.js';
import type { ServiceSpec, ServiceSummary, TaskSummary } from '../../runtime/services.js';
import { LABEL_SERVICE_HASH, LABEL_SPEC_HASH } from '../../runtime/types.js';
import type { Phase } from '../../state/types.js';
import type { Desired } from '../core/desired.js';
import type { ServiceSpecResult } from './service-spec.js';

export interface SwarmObservation {
  name: string;
  desired: Desired;
  service?: ServiceSummary;
  /** The service's tasks, every state Swarm still reports. */
  tasks: TaskSummary[];
  /** The service the manifest asks for (undefined when the app has no manifest or no image yet). */
  wanted?: ServiceSpecResult;
  /** The manifest's image is nowhere: not in a registry, not on this host. */
  imageMissing?: boolean;
  /** The image is on this host only and must go to the swarm's registry first (`--swarm-registry`). */
  publish?: { source: string; target: string };
  /** With a proxy: whether it routes the app, and whether to exactly `endpoints` (the running tasks). */
  route?: { held: boolean; current: boolean; endpoints: string[] };
}

export type SwarmAction =
  | { type: 'push'; source: string; target: string; reason: string }
  | { type: 'create'; spec: ServiceSpec; reason: string }
  /** `rolling`: the task spec changes, so Swarm rolls the tasks out; otherwise only the replica count moves. */
  | { type: 'update'; id: string; version: number; spec: ServiceSpec; rolling: boolean; reason: string }
  | { type: 'remove'; id: string; reason: string }
  | { type: 'route'; endpoints: string[]; reason: string }
  | { type: 'unroute'; reason: string };

export interface SwarmPlan {
  actions: SwarmAction[];
  outcome: { phase: Phase; message: string };
  gone?: boolean;
  refused?: string;
  rollout?: { revision: string; imageId: string; image: string; tag: string; strategy: 'zero-downtime' | 'recreate' };
  /** Swarm is rolling out the spec berth wants already (berth restarted mid-rollout): watch it, send nothing. */
  resume?: boolean;
}

export function planService(observation: SwarmObservation): SwarmPlan {
  const { desired, service } = observation;
  if (desired.kind === 'absent') {
    const unroute: SwarmAction[] = observation.route?.held
      ? [{ type: 'unroute', reason: 'its manifest was removed' }]
      : [];
    if (!service)
      return desired.invalid !== undefined
        ? { actions: [], outcome: { phase: 'Invalid', message: desired.invalid } }
        : { actions: unroute, outcome: { phase: 'Running', message: 'removed' }, gone: true };
    if (desired.hold !== undefined)
      return { actions: [], outcome: { phase: 'Running', message: `manifest gone, removal held: ${desired.hold}` } };
    return {
      actions: [...unroute, { type: 'remove', id: service.id, reason: 'its manifest was removed' }],
      outcome: { phase: 'Running', message: 'removed' },
      gone: true,
    };
  }
  const plan = planPresent(observation, desired.app.spec);
  if (desired.invalid !== undefined) plan.outcome = { phase: 'Invalid', message: desired.invalid };
  return plan;
}

function planPresent(
  observation: SwarmObservation,
  spec: { image: string; tag: string; replicas: number; deploy: { strategy: string } },
): SwarmPlan {
  const { service, wanted, tasks } = observation;
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
  const revision = `${next.labels[LABEL_SPEC_HASH]}@${digestOf(next.image)}`;
  const rollout = {
    revision,
    imageId: digestOf(next.image),
    image: spec.image,
    tag: spec.tag,
    strategy: next.update.order === 'start-first' ? ('zero-downtime' as const) : ('recreate' as const),
  };
  const runningMessage = `${spec.replicas} × ${ref} running`;
  if (!service)
    return {
      actions: [{ type: 'create', spec: next, reason: `deploy ${ref}` }],
      outcome: { phase: 'Running', message: runningMessage },
      rollout,
    };
  if (service.serviceHash !== next.labels[LABEL_SERVICE_HASH]) {
    const rolling = service.specHash !== next.labels[LABEL_SPEC_HASH] || service.image !== next.image;
    return {
      actions: [
        {
          type: 'update',
          id: service.id,
          version: service.version,
          spec: next,
          rolling,
          reason: rolling ? `roll out ${ref}` : 'the service spec changed (replicas, checks or update settings)',
        },
      ],
      outcome: { phase: 'Running', message: runningMessage },
      ...(rolling ? { rollout } : {}),
    };
  }
  if (service.update.state === 'updating')
    return { actions: [], outcome: { phase: 'Running', message: runningMessage }, rollout, resume: true };
  const route = observation.route;
  const routeActions: SwarmAction[] =
    route && !route.current
      ? [
          {
            type: 'route',
            endpoints: route.endpoints,
            reason: route.held ? 'the proxy does not route to the running tasks' : 'the proxy has no route for the app',
          },
        ]
      : [];
  if (running < spec.replicas)
    return {
      actions: routeActions,
      outcome: {
        phase: 'Degraded',
        message: `${running} of ${spec.replicas} replicas of ${ref} running (Swarm is rescheduling)`,
      },
    };
  return { actions: routeActions, outcome: { phase: 'Running', message: runningMessage } };
}

/** Tasks of the spec `specHash` that run and are meant to. */
export function runningTasks(tasks: readonly TaskSummary[], specHash: string): number {
  return tasks.filter((t) => t.specHash === specHash && t.state === 'running' && t.desiredState === 'running').length;
}

/** The `sha256:...` a pinned reference names, else the reference itself. */
function digestOf(image: string): string {
  const at = image.indexOf('@');
  return at < 0 ? image : image.slice(at + 1);
}
