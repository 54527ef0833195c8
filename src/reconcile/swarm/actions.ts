/**
 * The vocabulary of the Swarm planner: what berth observes of one app's service and what it asks
 * the executor to do, each action with its reason. Every side effect of a Swarm reconcile is one
 * of these actions: the planner (plan.ts) plans them from an observation, and what depends on what
 * a rollout shows while it runs (a new task to route to, Swarm's verdict, the deadline) is judged
 * by pure functions (watch.ts, secrets.ts) that return more of them, run by the same executor.
 */
import type { SecretSpec, SecretSummary, ServiceSpec, ServiceSummary, TaskSummary } from '../../runtime/services.js';
import { LABEL_SERVICE_HASH, LABEL_SPEC_HASH } from '../../runtime/types.js';
import type { Desired } from '../core/desired.js';
import type { RoundPlan } from '../core/outcome.js';
import type { ServiceSpecResult } from './service-spec.js';

export interface SwarmObservation {
  namespace: string;
  name: string;
  desired: Desired;
  service?: ServiceSummary;
  /** The service's tasks, every state Swarm still reports. */
  tasks: TaskSummary[];
  /** The app's Docker secrets berth made, used or not. */
  secrets: SecretSummary[];
  /** The service the manifest asks for (undefined when the app has no manifest or no image yet). */
  wanted?: ServiceSpecResult;
  /** The manifest's image is nowhere: not in a registry, not on this host. */
  imageMissing?: boolean;
  /** The image is on this host only and must go to the swarm's registry first (`--swarm-registry`). */
  publish?: { source: string; target: string };
  /** With a proxy: whether it routes the app, and whether to exactly `endpoints` (the running tasks). */
  route?: { held: boolean; current: boolean; endpoints: string[] };
  /** A revision berth holds after Swarm rolled it back (berth's record): not sent again by itself. */
  held?: HeldSpec;
  now: number;
}

/**
 * A held revision (`<specHash>@<digest>`) and, on Swarm, the service hash of the spec that failed:
 * the same revision sent with other settings (other checks, say) is another attempt, not held.
 */
export interface HeldSpec {
  revision: string;
  reason: string;
  serviceHash?: string;
}

/**
 * Watch a service just sent (or one Swarm is rolling out already) to its end: `running` until the
 * spec's replicas run, `updated` until Swarm says the update completed. Swarm's rollback (or pause)
 * fails the rollout; past the deadline an `updated` watch asks Swarm to roll back.
 */
export interface WatchAction {
  type: 'watch';
  spec: ServiceSpec;
  until: 'running' | 'updated';
  /** When Swarm began the rollout watched (a resumed one); undefined: when this plan sent the spec. */
  since?: number;
  /** deploy.progressDeadline, from `since`. */
  deadlineMs: number;
  /** With a proxy: route to each new task as it starts, so the proxy knows it before Swarm stops an old one. */
  follow: boolean;
  reason: string;
}

/** Asks Swarm to roll the service back to its previous spec; the rollout ends as failed with `failure`, and its revision is held. */
export interface RollbackAction {
  type: 'rollback';
  id: string;
  version: number;
  failure: string;
  reason: string;
}

export interface RouteAction {
  type: 'route';
  endpoints: string[];
  reason: string;
}

export interface RemoveSecretAction {
  type: 'removeSecret';
  id: string;
  name: string;
  reason: string;
}

export type SwarmAction =
  /** Tag the local image `source` as `target` and push it to the swarm's registry. */
  | { type: 'push'; source: string; target: string; reason: string }
  /** Make the Docker secrets the spec mounts (one already there by its name stands); their ids go to the create or update. */
  | { type: 'makeSecrets'; secrets: SecretSpec[]; reason: string }
  | { type: 'create'; spec: ServiceSpec; reason: string }
  /** `rolling`: the task spec changes, so Swarm rolls the tasks out; otherwise only the replica count moves. */
  | { type: 'update'; id: string; version: number; spec: ServiceSpec; rolling: boolean; reason: string }
  | WatchAction
  /** Once the rollout ended: route the proxy to the tasks that run then (a fresh look, judged by `followRoutes`). */
  | { type: 'follow'; reason: string }
  | RollbackAction
  /** Once the service was sent: remove the app's Docker secrets neither its spec nor its previous spec mounts (a fresh look, judged by `unusedSecrets`). */
  | { type: 'sweepSecrets'; reason: string }
  /** Best effort: a secret that cannot go now is left for the next sweep. */
  | RemoveSecretAction
  | { type: 'remove'; id: string; reason: string }
  | RouteAction
  | { type: 'unroute'; reason: string };

export interface SwarmPlan extends RoundPlan {
  actions: SwarmAction[];
  /** The manifest asks for a revision berth holds: nothing sends it until the manifest changes or `berth retry`. */
  hold?: { revision: string; reason: string };
}

/** The spec-hash label of a spec ('' when missing): the revision's half that is not the image. */
export function specHashOf(spec: ServiceSpec): string {
  return spec.labels[LABEL_SPEC_HASH] ?? '';
}

/** The service-hash label of a spec ('' when missing): everything berth sends. */
export function serviceHashOf(spec: ServiceSpec): string {
  return spec.labels[LABEL_SERVICE_HASH] ?? '';
}
