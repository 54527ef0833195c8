/** The vocabulary of the planner: what it observes and what it asks the executor to do. */
import type { Hook } from '../../manifest/types.js';
import type { ContainerCreateSpec, ContainerDetail, ContainerSummary } from '../../runtime/types.js';
import type { RevisionStats } from '../../proxy/access-log/revision-stats.js';
import type { CanarySplit } from '../../proxy/types.js';
import type { CanaryRecord, DeployRecord } from '../../state/types.js';
import type { Desired } from '../core/desired.js';
import type { RoundPlan } from '../core/outcome.js';

export type { Desired } from '../core/desired.js';
export type { CanaryNote, Executed } from '../core/outcome.js';

export type ImageState = { kind: 'present'; id: string; repoDigests: string[] } | { kind: 'missing' };

/** Everything the planner needs to know about one app at one moment. */
export interface Observation {
  namespace: string;
  name: string;
  desired: Desired;
  /** The app's managed containers, every state. */
  containers: ContainerSummary[];
  /** The image `<spec.image>:<spec.tag>` resolves to (present when desired is present). */
  image?: ImageState;
  /** The image id `<namespace>/<name>:<tag>` points at, when `spec.image` is another repository. */
  localTagImageId?: string;
  /** The image id `<namespace>/<name>:latest` points at (undefined when absent). */
  latestImageId?: string;
  /** The revision that last passed its checks and took traffic, from berth's state. */
  serving?: { revision: string; switchedAt: number };
  /** True when a proxy fronts the apps (fixed host ports then do not force `recreate`). */
  proxy: boolean;
  /**
   * The proxy's side: `held` when it has a route of the app; `current` when that route is what
   * berth would write now for the serving revision (always true without a proxy).
   */
  route: { held: boolean; current: boolean };
  /** What image retention is judged on: berth's deploy history (newest first) and the tags it created. */
  retention: { history: readonly DeployRecord[]; owned: readonly string[]; keep: number };
  /** Revisions whose release step succeeded. */
  released: readonly string[];
  /** The revision that served before the serving one (berth may switch back to it within deploy.monitor). */
  previousRevision?: string;
  /** A rolled-back revision (or one whose release failed), not deployed again by itself. */
  held?: { revision: string; reason: string };
  /**
   * The serving revision's containers as inspected now (restarts, exit codes, health); only a
   * reconcile looks this close, a resync's cheap look leaves it out.
   */
  servingDetails?: ContainerDetail[];
  /** The app's decrypted secret files on the host; undefined without a secrets directory, or when it has none. */
  secretFiles?: SecretFilesOnDisk;
  /** The canary under way by berth's record, with both revisions' numbers since its step started. */
  canary?: ObservedCanary;
  /** `berth promote` or `berth abort`, asked since the last look (taken: it acts this round or never). */
  canaryDecision?: 'promote' | 'abort';
  now: number;
}

/** A canary under way as observed: the record's step, and nginx's numbers of both revisions in it. */
export interface ObservedCanary extends CanaryRecord {
  /** Since max(stepStartedAt, when the collector started); absent when the collector is not running. */
  stats?: { canary: RevisionStats; stable: RevisionStats };
}

/** What `<secrets root>/<app>` holds: one directory per digest of the app's secrets (see secrets/secret-files.ts). */
export interface SecretFilesOnDisk {
  /** `<secrets root>/<app>`. */
  root: string;
  /** The entries found there (digests), at most a bounded number of them; empty when `unsafe`. */
  digests: string[];
  /** Why the directory was not looked into (it failed the checks of util/private-dir.ts): nothing in it is removed. */
  unsafe?: string;
}

/** Traffic back to `to` (the previous revision, still running), the failed revision's containers gone. */
export interface RollbackTarget {
  to: string;
  from: string;
  containers: ContainerRef[];
  repository: string;
  /** Image ids `latest` and `previous` point at again. */
  latest?: string;
  previous?: string;
}

export interface ContainerRef {
  id: string;
  name: string;
}

export type Action =
  | { type: 'pull'; ref: string; reason: string }
  | { type: 'tag'; source: string; repository: string; tag: string; reason: string }
  | { type: 'stop'; container: ContainerRef; reason: string }
  | { type: 'remove'; container: ContainerRef; reason: string }
  | { type: 'create'; spec: ContainerCreateSpec; reason: string }
  | { type: 'check'; containers: string[]; reason: string }
  /**
   * Traffic to `revision`'s containers; with `backupRevision` (deploy.monitor watches the new
   * revision), the previous revision's running containers stay in the route as backups.
   */
  | { type: 'switch'; revision: string; backupRevision?: string; reason: string }
  | { type: 'retag'; repository: string; latest: string; previous?: string; reason: string }
  | { type: 'retire'; containers: ContainerRef[]; reason: string }
  /**
   * Point the proxy at the serving containers (`127.0.0.1:<port>` endpoints), `backups` behind
   * them while the new revision is watched, or `canary` (the split) while a canary runs.
   */
  | { type: 'route'; endpoints: string[]; backups?: string[]; canary?: CanarySplit; reason: string }
  /**
   * One canary step: `percent` of the requests to `revision`'s running containers, the rest to
   * `stableRevision`'s (nginx's weights, its access log sent to berth); step is 0-based.
   */
  | { type: 'canaryStep'; revision: string; stableRevision: string; percent: number; step: number; reason: string }
  | { type: 'unroute'; reason: string }
  /** Release image references berth created (pulls, mirrors) for revisions it no longer keeps. */
  | { type: 'untag'; refs: string[]; reason: string }
  /**
   * Run the release step of `revision` in the one-off container `spec` (or wait for the one of
   * this revision already running); `hook` gives its command and timeout.
   */
  | { type: 'release'; revision: string; imageId: string; hook: Hook; spec: ContainerCreateSpec; reason: string }
  /** Run the post-deploy command in `container` (a new one); a failure is reported, never rolled back. */
  | { type: 'postDeploy'; container: string; hook: Hook; reason: string }
  /** One more look at the new containers within deploy.monitor (their checks, once); a failure rolls back. */
  | ({ type: 'probe'; containers: string[]; reason: string } & { rollback: RollbackTarget })
  | ({ type: 'rollback'; reason: string } & RollbackTarget)
  /**
   * Remove decrypted secret files under `root` that no container of the app mounts once the
   * plan's other actions are done: the digest directories in `remove`, or `root` itself with
   * everything in it when `keep` is empty (the app is gone, or none of its containers mounts any).
   */
  | { type: 'sweepSecrets'; root: string; keep: string[]; remove: string[]; reason: string };

export interface Plan extends RoundPlan {
  actions: Action[];
  /** Reconcile again after this long even without an event (retirement due, image wait). */
  requeueAfterMs?: number;
}
