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
  /** On the service and on its task containers: berth.managed, berth.namespace, berth.app, berth.spec-hash. */
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
  update: { state: UpdateState; message: string; startedAt?: number };
  /** The spec hash of the spec before the last update, when there is one. */
  previousSpecHash?: string;
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
}

export type ImageLocation =
  | { where: 'registry'; pinned: string }
  | { where: 'local'; repoDigests: string[] }
  | { where: 'nowhere' };

export interface ServiceRuntime {
  /** The swarm this engine manages; rejects with EngineError when it is no manager. */
  swarm(): Promise<{ nodeId: string; managers: number; nodes: number }>;
  listServices(namespace: string, app?: string): Promise<ServiceSummary[]>;
  /** Tasks of the namespace's managed services (every state Swarm still reports). */
  listTasks(namespace: string, app?: string): Promise<TaskSummary[]>;
  /** The swarm's nodes and the address each is reached at (where its tasks publish their ports). */
  listNodes(): Promise<{ id: string; addr: string }[]>;
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
  removeService(id: string): Promise<void>;
  /** Docker secrets berth made in the namespace (for `app` alone when given). */
  listSecrets(namespace: string, app?: string): Promise<SecretSummary[]>;
  /** Makes the secret; one by that name already there is taken as it (names carry a digest of the content). Resolves to its id. */
  createSecret(secret: SecretSpec): Promise<string>;
  /** Removes the secret; one already gone is no error, one a service still mounts is refused (EngineError). */
  removeSecret(id: string): Promise<void>;
}
