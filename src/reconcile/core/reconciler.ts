/**
 * The seam between the controller loop and an engine's reconciler. The controller knows apps by
 * name and nothing of containers or services: it asks a reconciler to reconcile one app, and
 * to look at the whole host once (a few engine calls, whatever the number of apps) to judge
 * which apps a reconcile would change. The Docker reconciler (docker/reconciler.ts) is one
 * implementation; an engine that schedules services is another.
 */
import type { Claim } from '../../manifest/claims.js';
import type { Phase } from '../../state/types.js';

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

export interface AppReconciler {
  /** Moves one app toward its manifest. The controller never runs two reconciles of one app at once. */
  reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult>;
  observeHost(): Promise<HostView>;
  /**
   * True while the app's new revision is being watched after a switch (deploy.monitor): an event
   * about its containers is acted on at once, not after the usual coalescing delay.
   */
  isWatching?(name: string): boolean;
}
