/**
 * The narrow interface between berth and a container engine. `src/runtime/docker/` implements it
 * with dockerode (the only code that imports dockerode); tests may use an in-memory fake.
 * Every method rejects only with a `RuntimeError` subclass (see ./errors.ts).
 */
import type { PortSpec, Protocol, Resources, VolumeSpec } from '../manifest/types.js';

/** Labels berth puts on every container it creates. */
export const LABEL_MANAGED = 'berth.managed';
export const LABEL_APP = 'berth.app';
export const LABEL_SPEC_HASH = 'berth.spec-hash';
export const LABEL_NAMESPACE = 'berth.namespace';
export const LABEL_REPLICA = 'berth.replica';
/** On a one-off container (a release step): what it is for. App containers have none. */
export const LABEL_ROLE = 'berth.role';
/** On a container that mounts decrypted secret files: the digest of their directory. */
export const LABEL_SECRETS = 'berth.secrets';
/** On a release container: the revision key it releases. */
export const LABEL_REVISION = 'berth.revision';
/** On a Swarm service: the hash of the whole spec berth sent, so an unchanged spec is never sent again. */
export const LABEL_SERVICE_HASH = 'berth.service-hash';

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface PublishedPort {
  container: number;
  protocol: Protocol;
  hostIp: string;
  hostPort: number;
}

/** A managed container as a list call sees it (no inspect needed). */
export interface ContainerSummary {
  id: string;
  /** Without the leading slash. */
  name: string;
  app: string;
  specHash: string;
  /** Replica slot, from the `berth.replica` label (0-based); -1 when absent. */
  replica: number;
  /** The `sha256:...` id of the image the container was created from. */
  imageId: string;
  state: ContainerState;
  labels: Record<string, string>;
  /** Milliseconds since the epoch. */
  createdAt: number;
  ports: PublishedPort[];
}

/** What an inspect adds to the summary. */
export interface ContainerDetail extends ContainerSummary {
  /** Milliseconds since the epoch; 0 when never started. */
  startedAt: number;
  restartCount: number;
  exitCode: number;
  /** The image's HEALTHCHECK verdict, when it has one. */
  health?: 'starting' | 'healthy' | 'unhealthy';
  /** Engine's reason when it could not run the container (e.g. a port already allocated). */
  error: string;
  /**
   * The container's whole environment (`Config.Env`): the image's defaults (PATH, ...) merged
   * with the env it was created with. Values are secrets: compare them, never log or print them.
   */
  env: Record<string, string>;
  /** The ports it asked to publish (`HostConfig.PortBindings`): `host` undefined = an ephemeral port. */
  requestedPorts: PortSpec[];
}

export interface ImageInfo {
  /** `sha256:...` */
  id: string;
  repoTags: string[];
  repoDigests: string[];
  /** Milliseconds since the epoch. */
  createdAt: number;
  size: number;
  /** The env the image sets for its containers (`Config.Env`); only an inspect reports it. */
  env?: Record<string, string>;
}

export interface ContainerCreateSpec {
  name: string;
  /** Image id (preferred: immune to a tag moving meanwhile) or reference. */
  image: string;
  command?: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  ports: PortSpec[];
  volumes: VolumeSpec[];
  resources: Resources;
  /** False for a one-off container the engine must not restart (default: restart unless stopped). */
  restart?: boolean;
}

export type RuntimeEvent =
  | { kind: 'container'; action: string; id: string; namespace?: string; app?: string }
  | { kind: 'image'; action: string; id: string; ref?: string };

export interface EventSubscription {
  close(): void;
}

export interface EngineInfo {
  engineVersion: string;
  apiVersion: string;
}

/**
 * How a command run inside a container ended; `output` is its stdout and stderr, interleaved, as
 * every container text reaches berth (./container-output.ts): its last 64 KiB, stripped, redacted.
 */
export type ExecResult =
  | { outcome: 'exited'; exitCode: number; output: string }
  | { outcome: 'timed-out'; output: string };

export interface Runtime {
  /** Checks the engine is reachable; negotiates the API version on first use. */
  ping(): Promise<EngineInfo>;

  /**
   * Containers carrying `berth.managed=true` and `berth.namespace=<namespace>` (all states), optionally
   * of one app; one-off containers (`berth.role`, e.g. a release step) are not among them.
   */
  listContainers(namespace: string, app?: string): Promise<ContainerSummary[]>;
  /** The app's one-off containers of `role` (all states). */
  listRoleContainers(namespace: string, app: string, role: string): Promise<ContainerSummary[]>;
  /** Rejects with ContainerNotFoundError when gone. */
  inspectContainer(id: string): Promise<ContainerDetail>;
  /**
   * The exit code of container `id`'s latest exit at or after `sinceMs` (ms since the epoch), from
   * the engine's event log; undefined when it has not exited since. An inspect of a container that
   * restarted shows only the new run, so this is where the code of the crash that caused it lives.
   */
  lastExitCode(id: string, sinceMs: number): Promise<number | undefined>;
  /** Creates (does not start) a container; returns its id. NameConflictError when the name is taken. */
  createContainer(spec: ContainerCreateSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after `timeoutSeconds`. Refuses (NotManagedError) a container without `berth.managed=true`. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  /** Force-removes. Refuses (NotManagedError) a container without `berth.managed=true`. Gone already is not an error. */
  removeContainer(id: string): Promise<void>;
  /**
   * The last `tail` lines of the container's stdout+stderr, as every container text reaches
   * berth (./container-output.ts): at most its last 64 KiB, stripped of terminal control, with
   * each of `secrets` (secretValues of the app) redacted.
   */
  containerLogs(id: string, tail: number, secrets: readonly string[]): Promise<string>;
  /**
   * Runs `command` (exec form, no shell) inside the running container and waits for it to end,
   * at most `timeoutMs`. A program that cannot start ends with the engine's exit code (126/127)
   * and says why in its output. Past the timeout the answer is `timed-out`; the engine offers no
   * way to stop an exec, so the program is left to end on its own. Its output is read as
   * containerLogs' is (bounded, stripped, `secrets` redacted), however much it writes.
   */
  execInContainer(id: string, command: string[], timeoutMs: number, secrets: readonly string[]): Promise<ExecResult>;

  /** undefined when no such image. */
  inspectImage(ref: string): Promise<ImageInfo | undefined>;
  /** Images whose tags include `repository:*`; every image on the host when `repository` is omitted (one call). */
  listImages(repository?: string): Promise<ImageInfo[]>;
  /** Pulls `ref` (repo:tag) with the credentials of Docker's config.json when it has them. */
  pullImage(ref: string, signal?: AbortSignal): Promise<void>;
  /**
   * Asks the registry of `ref` (repo:tag) for its manifest without pulling it, with the same
   * credentials as pullImage: the manifest digest, or undefined when the registry has no such tag.
   * PullError when the registry cannot be asked.
   */
  inspectRemoteImage(ref: string): Promise<{ digest: string } | undefined>;
  /** Points `repository:tag` at `source` (an id or reference). */
  tagImage(source: string, repository: string, tag: string): Promise<void>;
  /** Removes one tag (never the image data while other tags hold it). Gone already is not an error. */
  untagImage(ref: string): Promise<void>;

  /**
   * Streams engine events: containers of `namespace` that berth manages (start, die, stop, destroy, ...)
   * and image events (tag, untag, load, pull, delete). `onError` is called once when the stream ends
   * abnormally; the subscriber resubscribes.
   */
  subscribe(
    namespace: string,
    onEvent: (event: RuntimeEvent) => void,
    onError: (error: Error) => void,
  ): Promise<EventSubscription>;
}
