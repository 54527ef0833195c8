/**
 * The narrow interface between berth and an engine that schedules services over many hosts
 * (Docker Swarm): services, their tasks, and image digests. `docker/swarm-runtime.ts` implements
 * it with dockerode. Every method rejects only with a `RuntimeError` subclass (./errors.ts).
 */
import type { Protocol, Resources, VolumeSpec } from '../manifest/types.js';

/** What berth asks of a service; the spec hash label says which manifest revision it is. */
export interface ServiceSpec {
  /** `<namespace>_<app>`. */
  name: string;
  /** On the service and on its task containers: berth.managed, berth.namespace, berth.app, berth.spec-hash; berth.service-hash on the service only. */
  labels: Record<string, string>;
  /** `repository:tag@sha256:...` where the registry knows the digest, so every node runs the same bytes. */
  image: string;
  command?: string[];
  /** Values are secrets: never logged, never in a URL. */
  env: Record<string, string>;
  /** Published in host mode (no routing mesh); `published` undefined = a port the engine picks. */
  ports: { target: number; published?: number; protocol: Protocol }[];
  volumes: VolumeSpec[];
  /** Docker secrets (made beforehand with createSecret), mounted read-only at `target` in each task. */
  secrets: { name: string; target: string }[];
  replicas: number;
  resources: Resources;
  /** The check new tasks must pass before they count as running; undefined keeps the image's own HEALTHCHECK. */
  healthcheck?: { test: string[]; intervalMs: number; timeoutMs: number; retries: number; startPeriodMs: number };
  update: {
    order: 'start-first' | 'stop-first';
    /** How long a new task is watched after it starts; a failure in that window rolls the update back. */
    monitorMs: number;
  };
  stopGracePeriodMs: number;
}

/** Swarm's word on the service's last update (`UpdateStatus.State`), or `none` when it was never updated. */
export type UpdateState =
  | 'none'
  | 'updating'
  | 'paused'
  | 'completed'
  | 'rollback_started'
  | 'rollback_paused'
  | 'rollback_completed';

export interface ServiceSummary {
  id: string;
  name: string;
  app: string;
  /** `Version.Index`: an update must name the version it replaces. */
  version: number;
  /** The berth.spec-hash label of the current spec ('' when missing). */
  specHash: string;
  /** The berth.service-hash label: the whole spec berth sent ('' when missing). */
  serviceHash: string;
  image: string;
  replicas: number;
  /** `completedAt`: when Swarm completed the update (`UpdateStatus.CompletedAt`); berth's deploy.monitor runs from it. */
  update: { state: UpdateState; message: string; startedAt?: number; completedAt?: number };
  /** The spec hash of the spec before the last update, when there is one. */
  previousSpecHash?: string;
  /** The service hash and image of the spec before the last update (none after a rollback Swarm decided itself: it forgets that spec). */
  previousServiceHash?: string;
  previousImage?: string;
  /** The service's own labels (not its tasks'): where berth keeps the hold of a revision rolled back. */
  labels?: Record<string, string>;
  /** The Docker secrets the spec and the previous spec mount (a rollback needs the previous ones). */
  secretNames: string[];
}

/** A Docker secret berth made for an app (its labels name the namespace and the app). */
export interface SecretSummary {
  id: string;
  name: string;
  app: string;
}

/** A Docker secret to make: the decrypted bytes go to the swarm's raft store, never to a log. */
export interface SecretSpec {
  name: string;
  labels: Record<string, string>;
  data: Buffer;
}

export type TaskState =
  | 'new'
  | 'pending'
  | 'assigned'
  | 'accepted'
  | 'preparing'
  | 'ready'
  | 'starting'
  | 'running'
  | 'complete'
  | 'shutdown'
  | 'failed'
  | 'rejected'
  | 'remove'
  | 'orphaned';

export interface TaskSummary {
  id: string;
  serviceId: string;
  app: string;
  slot: number;
  nodeId: string;
  state: TaskState;
  desiredState: string;
  /** The spec hash of the service spec the task runs. */
  specHash: string;
  /** Swarm's message and the task's error ("task: non-zero exit (1)", "unhealthy container"). */
  message: string;
  error: string;
  /** Host-mode ports this task publishes on its node. */
  ports: { target: number; published: number; protocol: Protocol }[];
  createdAt: number;
  /** The image reference the task runs (`repo:tag@sha256:...` when pinned), as its spec names it. */
  image?: string;
}

/** A node of the swarm. */
export interface NodeSummary {
  id: string;
  /** The address the node is reached at: where its tasks publish their ports. */
  addr: string;
  /** The node's hostname (`Description.Hostname`; several nodes may share one); '' when unknown. */
  hostname?: string;
}

/** What berth runs as a Swarm job, besides a revision's service: its release step, its post-deploy command. */
export type JobRole = 'release' | 'postdeploy';

/**
 * A one-off Swarm job (mode `replicated-job`, one task, never restarted) of one revision: the
 * revision's own image (digest-pinned), env, volumes, Docker secrets and limits, running `command`.
 */
export interface JobSpec {
  /** `<namespace>_<app>_<role>_<digest of the revision>`: one job per revision and role. */
  name: string;
  /** On the job and its task container: berth.managed, berth.namespace, berth.app, berth.role, berth.revision. */
  labels: Record<string, string>;
  image: string;
  /** The task's arguments (after the image's entrypoint), as a service's `command`. */
  command: string[];
  /** Values are secrets: never logged, never in a URL. */
  env: Record<string, string>;
  volumes: VolumeSpec[];
  /** Docker secrets (made beforehand with createSecret), mounted read-only at `target`. */
  secrets: { name: string; target: string }[];
  resources: Resources;
}

/** A job berth made, and how its one task stands. */
export interface JobSummary {
  id: string;
  name: string;
  app: string;
  /** Its berth.role label (`release`, `postdeploy`). */
  role: string;
  /** Its berth.revision label: the revision it runs. */
  revision: string;
  createdAt: number;
  /** Its task's state; `new` while Swarm has made no task yet. */
  state: TaskState;
  /** When its task started running (0 before it did). */
  startedAt: number;
  /** The task container's exit code, once it ended. */
  exitCode?: number;
  /** Swarm's error for the task (`task: non-zero exit (3)`, `No such image: ...`), '' when none. */
  error: string;
  /** The node its task was given ('' before one was). */
  nodeId: string;
}

export type ImageLocation =
  | { where: 'registry'; pinned: string }
  | { where: 'local'; repoDigests: string[] }
  | { where: 'nowhere' };

export interface ServiceRuntime {
  /** The swarm this engine manages; rejects with EngineError when it is no manager. */
  swarm(): Promise<{ nodeId: string; managers: number; nodes: number }>;
  /** The namespace's managed services (of `app` alone when given); jobs are not among them. */
  listServices(namespace: string, app?: string): Promise<ServiceSummary[]>;
  /** Tasks of the namespace's managed services (every state Swarm still reports); jobs' tasks are not among them. */
  listTasks(namespace: string, app?: string): Promise<TaskSummary[]>;
  /** The swarm's nodes and the address each is reached at (where its tasks publish their ports). */
  listNodes(): Promise<NodeSummary[]>;
  /**
   * Where the image `ref` is: in its registry (`pinned`: `ref@sha256:...`), or only on this host
   * (`repoDigests`: the digests it was pushed or pulled as, `repo@sha256:...`), or nowhere.
   */
  locateImage(ref: string): Promise<ImageLocation>;
  /** Tags the local image `source` as `target` (`registry/repository:tag`) and pushes it; resolves with `target@sha256:...`. */
  pushImage(source: string, target: string): Promise<string>;
  /** `secretIds`: the id of each Docker secret the spec mounts, by name (createSecret's answers). */
  createService(spec: ServiceSpec, secretIds?: ReadonlyMap<string, string>): Promise<string>;
  /** Replaces the spec of service `id` at `version`; registry credentials go along so every node can pull. */
  updateService(id: string, version: number, spec: ServiceSpec, secretIds?: ReadonlyMap<string, string>): Promise<void>;
  /** Asks Swarm to roll the service back to its previous spec. */
  rollbackService(id: string, version: number): Promise<void>;
  /**
   * Sets the service's own labels (`undefined` removes one), changing nothing else of its spec: no
   * task moves. Like any update it replaces Swarm's previous spec with the current one and clears
   * its update status.
   */
  labelService(id: string, version: number, labels: Readonly<Record<string, string | undefined>>): Promise<void>;
  removeService(id: string): Promise<void>;
  /** Docker secrets berth made in the namespace (for `app` alone when given). */
  listSecrets(namespace: string, app?: string): Promise<SecretSummary[]>;
  /** Makes the secret; one by that name already there is taken as it (names carry a digest of the content). Resolves to its id. */
  createSecret(secret: SecretSpec): Promise<string>;
  /** Removes the secret; one already gone is no error, one a service still mounts is refused (EngineError). */
  removeSecret(id: string): Promise<void>;
  /**
   * Makes the job `spec` (mode `replicated-job`: one task, restart policy `none`) and resolves to
   * its id; `secretIds` as for createService. Jobs need Engine API 1.41 (Docker 20.10): an engine
   * that speaks less is refused (EngineError), and so is a job the engine made in another mode.
   * One by that name already there is a NameConflictError.
   */
  createJob(spec: JobSpec, secretIds?: ReadonlyMap<string, string>): Promise<string>;
  /** The namespace's jobs (of `app` alone when given), each with its task's state; services are not among them. */
  listJobs(namespace: string, app?: string): Promise<JobSummary[]>;
  /**
   * What the job's task wrote (stdout and stderr), read through the service logs API whichever node
   * ran it: its last 64 KiB, terminal control stripped, every one of `secrets` redacted.
   */
  jobLogs(id: string, secrets: readonly string[]): Promise<string>;
  /** Removes the job (its task is stopped if it still runs); one already gone is no error. */
  removeJob(id: string): Promise<void>;
}
