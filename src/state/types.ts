/** What berth remembers about each app beyond what Docker holds. Losing it loses history, never correctness. */

export type Phase = 'Pending' | 'Deploying' | 'Running' | 'Degraded' | 'Failed' | 'Invalid';

export const PHASES: readonly Phase[] = ['Pending', 'Deploying', 'Running', 'Degraded', 'Failed', 'Invalid'];

export interface DeployRecord {
  /** Milliseconds since the epoch when the deploy ended. */
  at: number;
  tag: string;
  image: string;
  imageId: string;
  revision: string;
  outcome: 'succeeded' | 'failed';
  reason?: string;
  durationMs: number;
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
  /** When the phase last changed. */
  since: number;
  history: DeployRecord[];
}

export const HISTORY_LIMIT = 20;
