/**
 * The normalized, defaults-applied form of a `berth/v1` `App` manifest.
 * Everything downstream of the loader (planner, executor, status) sees only this shape.
 */

import { printable } from './printable.js';
import type { Collision } from './claims.js';
import type { ManifestOrigin } from '../source/types.js';

export type Protocol = 'tcp' | 'udp';
export type Strategy = 'zero-downtime' | 'recreate';

export interface PortSpec {
  container: number;
  /** Fixed host port; undefined = ephemeral (Docker picks). */
  host?: number;
  hostIp: string;
  protocol: Protocol;
}

export interface VolumeSpec {
  /** A named volume, or an absolute host path. */
  source: string;
  target: string;
  readOnly: boolean;
  /** For a host path: the path checked on the host (host-paths.ts), which is what is mounted. */
  hostSource?: string;
}

export interface HttpCheck {
  path: string;
  /** The response body must contain this, when set. */
  content?: string;
  /** Container port to reach (through its 127.0.0.1 publication); defaulted to the first tcp port. */
  port: number;
  attempts: number;
  /** Seconds before each attempt. */
  wait: number;
  /** Seconds per attempt. */
  timeout: number;
}

/** A probe command run inside a container (exec form, no shell); exit 0 passes. */
export interface ExecCheck {
  command: string[];
  attempts: number;
  /** Seconds before each attempt. */
  wait: number;
  /** Seconds per attempt. */
  timeout: number;
}

/**
 * `spec.deploy.canary`: the new revision gets `steps[0]`% of the requests, then each next step,
 * then 100%, each step judged on nginx's access log once `interval` has passed and the new
 * revision has had `minRequests` requests. validate guarantees: 1-10 strictly increasing integer
 * steps 1-99, `steps.length × interval <= progressDeadline`, a route through nginx, the
 * `zero-downtime` strategy, no fixed host port, not on Swarm.
 */
export interface CanarySpec {
  /** Percent of requests to the new revision at each step, strictly increasing, each 1-99. */
  steps: number[];
  /** Seconds at each step, 5-3600. */
  interval: number;
  /** Percent (0-100) of the new revision's upstream attempts that may fail (5xx or no connection). */
  maxErrorRate: number;
  /** Milliseconds the new revision's 95th percentile upstream response time may reach; absent: not judged. */
  maxLatencyP95?: number;
  /** Requests the new revision must have had at a step before it is judged. */
  minRequests: number;
}

/** A command run by berth around a deploy (exec form, no shell), with how long it may take. */
export interface Hook {
  command: string[];
  /** Seconds. */
  timeout: number;
}

/** An age-encrypted file a manifest names: `file` resolved against the manifest's directory. */
export interface SecretRef {
  file: string;
  /** Where the manifest names it, for messages. */
  at: SourcePosition;
}

/** What decrypting an app's secrets gave: never logged, never written to state. */
export interface ResolvedSecrets {
  env: Record<string, string>;
  files: { target: string; content: Buffer }[];
  /** A keyed digest of all of it: what the spec hash covers instead of the values. */
  digest: string;
  /** The app's directory of decrypted files on the host (tmpfs); files lie in `<root>/<digest>/<index>`. */
  root?: string;
}

export interface Resources {
  /** Docker memory string as written (`256m`, `1g`). */
  memory?: string;
  cpus?: number;
}

/**
 * Which newer tags of `spec.image` berth writes into `spec.tag` by itself: those a semver range
 * accepts, or those a pattern (RE2, whole tag) matches, sorted by its `key` group. `interval`:
 * seconds between looks at the registry; `minAge`: seconds a tag must have been known to berth
 * before it is adopted. No part of the spec hash: adding or editing it restarts nothing.
 */
export type ImagePolicy = { interval: number; minAge: number } & (
  | { semver: string }
  | { pattern: string; order: 'numerical' | 'alphabetical' }
);

export interface AppSpec {
  /** Repository without tag; defaults to `<namespace>/<name>`. */
  image: string;
  tag: string;
  digest?: string;
  /** Set when the manifest asks berth to follow the registry (image automation). */
  imagePolicy?: ImagePolicy;
  command?: string[];
  env: Record<string, string>;
  /** Encrypted dotenv files whose variables join `env`. */
  envFrom: SecretRef[];
  /** Encrypted files mounted read-only at `target`. */
  secrets: (SecretRef & { target: string })[];
  /** Set once the secrets were decrypted (by the controller, with the identities it was given). */
  resolved?: ResolvedSecrets;
  ports: PortSpec[];
  volumes: VolumeSpec[];
  replicas: number;
  resources: Resources;
  checks: {
    /** Seconds the new container must stay running with no restart; ignored when `http` or `exec` is non-empty. */
    wait: number;
    http: HttpCheck[];
    exec: ExecCheck[];
  };
  /** Run once per new revision in a one-off container, before any new container serves. */
  release?: Hook;
  /** Run once in one of the new containers after the switch; its failure rolls nothing back. */
  postDeploy?: Hook;
  deploy: {
    strategy: Strategy;
    /** False when the manifest did not name a strategy (so berth may pick `recreate` for fixed host ports). */
    strategyExplicit: boolean;
    retireAfter: number;
    progressDeadline: number;
    /** Seconds after the switch the new containers are watched, and the previous revision kept to switch back to. */
    monitor: number;
    /** A progressive rollout through berth's nginx; absent: the switch is all at once. No part of the revision. */
    canary?: CanarySpec;
  };
  domains: string[];
}

/** Where a manifest document came from; line and col are 1-based. */
export interface SourcePosition {
  file: string;
  line: number;
  col: number;
}

export interface App {
  name: string;
  spec: AppSpec;
  source: SourcePosition;
  /** Where each claim on the host is written (claims.ts): `spec.ports[i].host`, `spec.domains[i]`, `spec.volumes[i].source`. */
  claimsAt?: { ports: SourcePosition[]; domains: SourcePosition[]; volumes: SourcePosition[] };
  /** With a git source: the commit of the tree this manifest was read from, and who last changed its file (origin.ts). */
  origin?: ManifestOrigin;
  /** What is worth saying about this manifest but refuses nothing (a field the runtime does not use), in file order. */
  warnings?: ManifestProblem[];
}

/** One problem in one manifest file, printable as `file:line:col: message`. */
export interface ManifestProblem extends SourcePosition {
  message: string;
  /** The app the problem belongs to, when the document got far enough to name one. */
  app?: string;
}

/** One line, whatever the file is called or the message quotes (see printable). */
export function formatProblem(p: ManifestProblem): string {
  return `${printable(p.file)}:${p.line}:${p.col}: ${printable(p.message)}`;
}

/** The state of the watched directory as a whole. */
export type DirectoryState = 'ok' | 'empty' | 'missing' | 'unreadable';

/** Everything one read of the manifest directory yields. */
export interface ManifestSet {
  /** Apps with exactly one valid manifest. */
  apps: Map<string, App>;
  /** Every problem found, in file order. */
  problems: ManifestProblem[];
  /** What is worth saying but refuses nothing (a named volume two apps share). */
  warnings: ManifestProblem[];
  /** Host ports and domains claimed by more than one app of `apps` (who gives way is decided with the host in view). */
  collisions: Collision[];
  /** Apps named by more than one file: app -> files. Such apps are absent from `apps`. */
  conflicts: Map<string, string[]>;
  /** Apps named by a document that failed validation (absent from `apps`). */
  invalid: Set<string>;
  /** Number of manifest files considered (after ignore rules). */
  fileCount: number;
  directory: DirectoryState;
}

export interface LoadOptions {
  /** Image namespace, the default repository is `<namespace>/<name>`. */
  namespace: string;
  /** Host-path volume sources must be under one of these prefixes. */
  allowHostPaths: string[];
  /** With `--proxy nginx --domain D`: apps without domains claim `<app>.D`. */
  defaultDomain?: string;
  /** The engine the apps are deployed to: with `swarm`, what Swarm cannot honour is said (swarm-fields.ts). Default docker. */
  runtime?: 'docker' | 'swarm';
}
