/** What the controller reports as it works; the Prometheus implementation is in ./prometheus.ts. */

/** controller-runtime's reconcile results: `requeue_after` is a success that asked to run again later. */
export type ReconcileOutcome = 'success' | 'error' | 'requeue_after';

export interface ControllerMetrics {
  reconciled(app: string, outcome: ReconcileOutcome, seconds: number): void;
  deployed(app: string, outcome: 'succeeded' | 'failed' | 'rolled_back'): void;
}

export const noMetrics: ControllerMetrics = {
  reconciled: () => undefined,
  deployed: () => undefined,
};

/** What image automation reports: each look at a repository, each tag it wrote. */
export interface ImageMetrics {
  looked(repository: string, result: string): void;
  updated(app: string, result: 'written' | 'proposed' | 'failed'): void;
}

export const noImageMetrics: ImageMetrics = {
  looked: () => undefined,
  updated: () => undefined,
};
