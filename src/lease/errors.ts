/** The errors of the lease. */
import { RuntimeError } from '../runtime/errors.js';

/**
 * A write to the swarm refused because this replica does not hold the lease right now (a standby,
 * or a leader whose last renew is older than its renew deadline). A RuntimeError, so a reconcile
 * that meets it fails as on any refused engine call, and is tried again later.
 */
export class NotLeaderError extends RuntimeError {}
