/**
 * The seam between the controller loop and an engine's reconciler. The controller knows apps by
 * name and nothing of containers or services: it asks a reconciler to reconcile one app, and
 * to look at the whole host once (a few engine calls, whatever the number of apps) to judge
 * which apps a reconcile would change. The Docker reconciler (docker/reconciler.ts) is one
 * implementation; Swarm's (swarm/reconciler.ts), which schedules services, is another. The
 * controller and the commands name neither: the runtime is chosen once, where berth is composed.
 */
import type { Claim } from '../../manifest/claims.js';
import type { Phase } from '../../state/types.js';
import type { DiffLine } from './diff.js';
import type { RoundPlan } from './outcome.js';

export interface ReconcileResult {
  phase: Phase;
  /** The reconcile failed and should be retried with backoff. */
  failed: boolean;
  /** Reconcile again after this long (retirement due). */
  requeueAfterMs?: number;
  /** The app has no manifest and nothing left on the host. */
  gone?: boolean;
}

/** One look at the host, taken by `AppReconciler.observeHost`. */
export interface HostView {
  /** Apps the host holds something of (containers, services, a proxy route). */
  apps(): string[];
  /**
   * Whether a reconcile of `name` would change nothing, judged on this view without asking the
   * engine again. An error of judgement may only ever make an app reconcile needlessly.
   */
  isInSync(name: string): Promise<boolean>;
  /** Whether `app` holds `claim` on the host (see manifest/claims.ts): who keeps a contested port or domain. */
  holds(app: string, claim: Claim): boolean;
}

/** One action of a plan as `berth plan` prints it: `  <symbol> <text>  (<reason>)`. */
export interface PlannedStep {
  symbol: string;
  text: string;
  reason: string;
}

/** What a reconcile of one app would do now, told without doing it (`berth plan`). */
export interface AppPreview {
  /** Where the app would end up, and the rollout if there is one: the headline. */
  plan: RoundPlan;
  /** What runs against what the manifest wants (image, env keys, ports, replicas); env values never. */
  diff: DiffLine[];
  /** One per action, in the order the executor would run them; empty when the app is in sync. */
  steps: PlannedStep[];
  /** Lines after the steps (a retirement due later, a rollout Swarm is running now). */
  notes: string[];
}

export interface AppReconciler {
  /** Moves one app toward its manifest. The controller never runs two reconciles of one app at once. */
  reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult>;
  observeHost(): Promise<HostView>;
  /** What `reconcile(name)` would do now, judged on `host`; changes nothing. */
  preview(name: string, host: HostView): Promise<AppPreview>;
  /**
   * True while the app's new revision is being watched after a switch (deploy.monitor): an event
   * about its containers is acted on at once, not after the usual coalescing delay.
   */
  isWatching?(name: string): boolean;
}
