/** What any engine's reconcile round planned and did, as the recorder reads it. */
import type { Phase } from '../../state/types.js';

/** A new revision being rolled out. */
export interface Rollout {
  revision: string;
  imageId: string;
  image: string;
  tag: string;
  strategy: 'zero-downtime' | 'recreate';
}

/** The part of a plan the recorder reads: where the app ends up once every action has succeeded. */
export interface RoundPlan {
  /** The app's phase and message once every action has succeeded. */
  outcome: { phase: Phase; message: string };
  /** Present when the plan rolls out a new revision. */
  rollout?: Rollout;
  /** True when the app has no manifest and its containers are (or are being) removed. */
  gone?: boolean;
  /** Set when the plan cannot proceed (digest mismatch, strategy conflict): the reason, reported as an error. */
  refused?: string;
  /** Set while every container of the serving revision is being restarted by the engine: nothing serves. */
  crashLoop?: { revision: string; message: string };
  /** Set when the plan starts, continues, promotes or aborts a canary (deploy.canary). */
  canary?: CanaryNote;
}

/** What a plan does about a canary, for the recorder (events, status). */
export interface CanaryNote {
  /** `step`: a step is routed; `wait`: judged, not yet; `promote`: the last step passed; `abort`: traffic goes back. */
  kind: 'step' | 'wait' | 'promote' | 'abort';
  /** The canary's revision key. */
  revision: string;
  /** 0-based index into deploy.canary.steps (of the step routed, or judged). */
  step: number;
  percent: number;
  reason: string;
  /** The canary's numbers the decision saw (absent for a first step, or a decision made without them). */
  numbers?: { requests: number; errors: number; errorRate: number; p95Ms?: number };
}

/** What the executor did, for the recorder: image references created and released, where traffic went. */
export interface Executed {
  /** References a pull or mirror tag created: berth owns them. */
  tagged: string[];
  /** Owned references the untag action released. */
  untagged: string[];
  /** The endpoints traffic was switched or routed to. */
  endpoints: string[];
  /** Set when traffic went back to the previous revision. */
  rolledBack?: { from: string; to: string; reason: string };
  /** How the post-deploy command ended (`succeeded`, or why not). */
  postDeploy?: string;
  /** When the post-deploy command failed: its exit code (when it ran to one) and the last lines of its output (redacted). */
  postDeployFailure?: { exitCode?: number; output?: string };
}

/** An executor's record before it has done anything. */
export function nothingExecuted(): Executed {
  return { tagged: [], untagged: [], endpoints: [] };
}
