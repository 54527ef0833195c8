/** What berth remembers about each app beyond what Docker holds. Losing it loses history, never correctness. */
import type { Commit } from '../source/types.js';

export type Phase = 'Pending' | 'Deploying' | 'Running' | 'Degraded' | 'Failed' | 'Invalid';

export const PHASES: readonly Phase[] = ['Pending', 'Deploying', 'Running', 'Degraded', 'Failed', 'Invalid'];

export interface DeployRecord {
  /** Milliseconds since the epoch when the deploy ended. */
  at: number;
  tag: string;
  image: string;
  imageId: string;
  revision: string;
  /**
   * `rolled_back`: it took traffic, then failed within deploy.monitor and traffic went back. One
   * spelling wherever a program reads it (history --json, /api/apps, the `deploy.rolled_back`
   * event, the metric's `result` label); state files of older berths said `rolled back`, read as
   * `rolled_back`.
   */
  outcome: 'succeeded' | 'failed' | 'rolled_back';
  reason?: string;
  durationMs: number;
  /** The last lines of a failed release step or post-deploy command (env values redacted). */
  output?: string;
  /** How the post-deploy command ended, when there was one. */
  postDeploy?: string;
  /** The commit of the tree the manifest was read from when the deploy was planned, when berth follows a git repository. */
  commit?: Commit;
  /** The commit that last changed the app's manifest file, as far as berth saw the branch move (absent before it saw the file change). */
  changedBy?: Commit;
}

export interface AppRecord {
  phase: Phase;
  message: string;
  /** The last failure (check, pull, engine), kept until a deploy succeeds. */
  lastError?: string;
  desiredTag?: string;
  desiredImage?: string;
  /** Revision key (`specHash@imageId`) whose containers passed their checks and took traffic. */
  servingRevision?: string;
  servingImageId?: string;
  servingTag?: string;
  /** When traffic switched to `servingRevision`; old containers retire `retireAfter` seconds later. */
  switchedAt?: number;
  /**
   * Image references berth itself created for this app (a pulled `<registry>/<repo>:<tag>`, its
   * `<namespace>/<app>:<tag>` mirror). Only these are ever untagged, once they fall outside the
   * last `--keep-revisions` deployed revisions; tags berth did not make are never removed.
   */
  ownedTags?: string[];
  /** When the phase last changed. */
  since: number;
  history: DeployRecord[];
  /** Revisions whose release step succeeded, newest first: their release never runs again. */
  released?: string[];
  /** The revision that served before `servingRevision`, while berth may switch back to it. */
  previousRevision?: string;
  /**
   * A revision that was rolled back (or whose release failed): never deployed again by itself,
   * only after the manifest changes or `berth retry`.
   */
  held?: {
    revision: string;
    reason: string;
    at: number;
    /** On Swarm, the service hash of the spec that failed: the revision sent with other settings (checks) is a new attempt. */
    serviceHash?: string;
  };
  /** The serving revision berth last said is crash-looping (app.crash_looping), until the app runs calmly again. */
  crashLoop?: string;
  /** What the app's spec.imagePolicy last found and did (image automation). */
  imagePolicy?: ImagePolicyRecord;
  /** The canary under way (deploy.canary): set when a step is routed, cleared on promote, abort or a manifest change. */
  canary?: CanaryRecord;
}

/** A canary under way: which revision takes which share, since when. Times in ms since the epoch. */
export interface CanaryRecord {
  /** The new revision's key. */
  revision: string;
  /** The revision serving the rest of the requests (the record's servingRevision). */
  stableRevision: string;
  /** 0-based index into deploy.canary.steps. */
  step: number;
  percent: number;
  /** When the first step was routed: progressDeadline counts from here. */
  startedAt: number;
  /** When this step was routed: it is judged on the requests since. */
  stepStartedAt: number;
  /** The last judgement in words ("10%: 12 of 50 requests"), for status. */
  reason?: string;
  /** The canary's numbers at the last judgement. */
  numbers?: { requests: number; errors: number; errorRate: number; p95Ms?: number };
}

/** An app's image policy as berth last looked at it. */
export interface ImagePolicyRecord {
  /** The policy as people read it (`semver ^1`). */
  policy: string;
  /** The manifest's tag at the last look: a later look tells a person's move of the tag from berth's own. */
  tag: string;
  /** After a person moved the tag back: only a tag sorting after this one is adopted. */
  floor?: string;
  /** The newest tag the policy matches, at the last look. */
  newest?: string;
  /** Why the tag stays where it is (one line), when it does. */
  waiting?: string;
  /** When berth last looked (milliseconds since the epoch). */
  lastLookAt?: number;
  /** The last look's failure (registry, write-back), kept until a look succeeds. */
  error?: string;
  /** The last tag berth wrote: where to, and when. */
  written?: { from: string; to: string; at: number; commit?: string; branch?: string; file?: string };
}

/** A repository as image automation last listed it. */
export interface RepositoryRecord {
  /** When berth first saw each tag (milliseconds since the epoch): minAge counts from it, across restarts. */
  firstSeen: Record<string, number>;
  lastLookAt?: number;
  /** The last look's failure, kept until a look succeeds. */
  error?: string;
}

/** Deploys kept in each app's history; also the most `--keep-revisions` can keep. */
export const HISTORY_LIMIT = 50;

/**
 * A domain's certificate as the running controller last knew it: `issued` (by ACME), `own` (from
 * --tls-cert-dir), `pending` (not yet ordered: its app is not served yet, or the first order is
 * under way), `failed` (the last order failed; HTTP keeps serving, or the old certificate does).
 */
export interface CertificateRecord {
  domain: string;
  app: string;
  state: 'issued' | 'own' | 'pending' | 'failed';
  issuer?: string;
  notAfter?: number;
  /** The last failure, kept until an order succeeds. */
  error?: string;
  /** When the next order or renewal is due. */
  nextAttempt?: number;
  /** When `state` last changed. */
  since: number;
}

/** The controller's view of the engine: an outage is reported here until the event stream is back. */
export interface EngineRecord {
  reachable: boolean;
  /** When reachability last changed (milliseconds since the epoch). */
  since: number;
  /** Why the engine is unreachable. */
  error?: string;
}
