/** What the Docker reconciler is given to run canaries: nginx's access log, as the collector reads it. */
import type { RevisionStats } from './revision-stats.js';
import type { AccessLogTarget } from '../types.js';

/**
 * The running access-log collector, as observing and executing use it: where nginx's canary
 * blocks send their lines (`target`, its token a secret), since when it has heard them
 * (`startedAt`, ms since the epoch: numbers before it are not in its log, lost with a restart),
 * and each revision's numbers since a moment, by upstream address (AccessLogCollector.stats).
 */
export interface CanaryTraffic {
  target: AccessLogTarget;
  startedAt: number;
  stats(addressesByRevision: ReadonlyMap<string, readonly string[]>, since: number): Map<string, RevisionStats>;
}
