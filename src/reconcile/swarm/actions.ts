/**
 * The vocabulary of the Swarm planner: what berth observes of one app's service and what it asks
 * the executor to do, each action with its reason. Every side effect of a Swarm reconcile is one
 * of these actions: the planner (plan.ts) plans them from an observation, and what depends on what
 * a rollout shows while it runs (a new task to route to, Swarm's verdict, the deadline) is judged
 * by pure functions (watch.ts, secrets.ts) that return more of them, run by the same executor.
 */
import type { Hook } from '../../manifest/types.js';
import type {
  JobSpec,
  JobSummary,
  SecretSpec,
  SecretSummary,
  ServiceSpec,
  ServiceSummary,
  TaskSummary,
} from '../../runtime/services.js';
import { LABEL_SERVICE_HASH, LABEL_SPEC_HASH } from '../../runtime/types.js';
import type { Desired } from '../core/desired.js';
import type { Rollout, RoundPlan } from '../core/outcome.js';
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
  /**
   * The hold the swarm itself shows (hold.ts: the service's hold labels, or the spec a rollback
   * left): a berth with an empty state directory finds it there. Left out after `berth retry`.
   */
  swarmHeld?: HeldSpec;
  /** The app's Swarm jobs (release steps, post-deploy commands), running or ended; none when not listed. */
  jobs?: JobSummary[];
  /** Revisions whose release step succeeded, as berth's record keeps them. */
  released?: readonly string[];
  now: number;
  /**
   * This replica's role in the lease (leader election, src/lease/): a `standby` plans only its own
   * node's proxy (route, unroute), never a write to the swarm. Absent: the leader (one berth alone).
   */
  role?: 'leader' | 'standby';
}

/**
 * A held revision (`<specHash>@<digest>`) and, on Swarm, the service hash of the spec that failed:
 * the same revision sent with other settings (other checks, say) is another attempt, not held.
 */
export interface HeldSpec {
  revision: string;
  reason: string;
  serviceHash?: string;
  /** The held spec's image as Swarm ran it (`repo:tag@sha256:...`), when known: a resync locates the tag by it. */
  image?: string;
}

/**
 * Watch a service just sent (or one Swarm is rolling out already) to its end: `running` until the
 * spec's replicas run, `updated` until Swarm says the update completed. Swarm's rollback (or pause)
 * fails the rollout; past the deadline an `updated` watch asks Swarm to roll back.
 */
export interface WatchAction {
  type: 'watch';
  spec: ServiceSpec;
  /** `rolledBack`: a rollback berth asked for (after deploy.monitor found a failure), until Swarm completes it. */
  until: 'running' | 'updated' | 'rolledBack';
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

/**
 * deploy.monitor on Swarm: once Swarm has completed an update, its new tasks are watched until
 * `since + windowMs` (judged on each look by `judgeMonitor`, monitor.ts). A task of the new spec
 * that exits, restarts or turns unhealthy (Swarm ends such a task as failed and starts another)
 * makes berth roll the service back (`revert`), record the deploy as rolled back and hold it.
 */
export interface MonitorAction {
  type: 'monitor';
  id: string;
  spec: ServiceSpec;
  /** When Swarm completed the update (`UpdateStatus.CompletedAt`): the window runs from it. */
  since: number;
  /** When the update began: tasks created before it are not the new revision's. */
  rolloutSince: number;
  windowMs: number;
  /**
   * When this pass stops looking, the window not over yet (a slice of it): the app's worker is
   * free for other apps meanwhile, and the next pass, queued at once, looks on.
   */
  lookUntil: number;
  /** The revision watched, and the one Swarm's previous spec runs (where a rollback goes). */
  from: string;
  to: string;
  /** deploy.progressDeadline: how long the rollback may take. */
  deadlineMs: number;
  /** With a proxy: route to the previous revision's tasks as the rollback starts them. */
  follow: boolean;
  reason: string;
}

/**
 * Asks Swarm to roll the service back to its previous spec because deploy.monitor found a
 * failure: the deploy of `from` is recorded as rolled back and `from` held (with `serviceHash`).
 */
export interface RevertAction {
  type: 'revert';
  id: string;
  version: number;
  from: string;
  to: string;
  serviceHash: string;
  reason: string;
}

/**
 * Writes the hold onto the service's own labels (hold.ts), so a berth started again, or on
 * another manager with an empty state directory, finds it: no task moves. Best effort.
 */
export interface RecordHoldAction {
  type: 'recordHold';
  id: string;
  version: number;
  /** An undefined value removes that label. */
  labels: Record<string, string | undefined>;
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

/**
 * The release step of `revision` as the Swarm job `job`, before the spec that deploys it is sent:
 * its job there already (`existing`: a berth restarted mid-release) is waited for, never made
 * twice. Release jobs of other revisions still running (`waitFor`) are waited for first, then
 * removed: one release at a time per app. A failure (an exit code, a timeout, a task that could
 * not run) fails the rollout: the previous revision keeps serving and this one is held.
 */
export interface ReleaseAction {
  type: 'release';
  revision: string;
  hook: Hook;
  job: JobSpec;
  existing?: string;
  waitFor: { id: string; name: string; revision: string }[];
  reason: string;
}

/**
 * Once the rollout completed: the post-deploy command as the Swarm job `job` of the new revision
 * (its job there already, `existing`, is waited for instead). A failure is reported, never rolled back.
 */
export interface PostDeployAction {
  type: 'postDeploy';
  revision: string;
  hook: Hook;
  job: JobSpec;
  existing?: string;
  reason: string;
}

/**
 * Removes a job that ended (or every job of an app whose manifest is gone). `released`: it is the
 * completed release job of that revision, so berth's record keeps that the revision was released
 * before the job, the swarm's record of it, goes.
 */
export interface RemoveJobAction {
  type: 'removeJob';
  id: string;
  name: string;
  released?: string;
  reason: string;
}

/**
 * Once the spec deploying `revision` was sent: its completed release job goes (found by a fresh
 * look: this very plan may have made it), its revision recorded as released first. The service
 * carries the revision from then on.
 */
export interface RemoveReleaseJobAction {
  type: 'removeReleaseJob';
  revision: string;
  reason: string;
}

export type SwarmAction =
  | ReleaseAction
  | RemoveReleaseJobAction
  | PostDeployAction
  | RemoveJobAction
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
  | MonitorAction
  | RevertAction
  | RecordHoldAction
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
  hold?: HeldSpec;
  /** The rollout is watched for deploy.monitor (this long) by the next pass, once Swarm completes it. */
  monitorAfterMs?: number;
  /** Reconcile again after this long (0: at once, for the deploy.monitor watch). */
  requeueAfterMs?: number;
  /** The service runs the manifest's revision already (what a berth with no record of the app adopts). */
  runs?: Rollout;
}

/** The spec-hash label of a spec ('' when missing): the revision's half that is not the image. */
export function specHashOf(spec: ServiceSpec): string {
  return spec.labels[LABEL_SPEC_HASH] ?? '';
}

/** The service-hash label of a spec ('' when missing): everything berth sends. */
export function serviceHashOf(spec: ServiceSpec): string {
  return spec.labels[LABEL_SERVICE_HASH] ?? '';
}
