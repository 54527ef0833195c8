/**
 * The lease replicas of berth contend for, kept in the swarm (docker/swarm-lease.ts: a Swarm config
 * named `<namespace>-berth-lease`, its fields in the config's labels). A write names the version it
 * replaces; a stale one is refused with LeaseConflictError: the swarm's store makes it a
 * compare-and-swap. Every method rejects only with a `RuntimeError` subclass (./errors.ts).
 */

/** What the lease says; `holder` '' means released (nobody holds it). */
export interface LeaseFields {
  /** The holder's identity: a random id kept in its state directory. */
  holder: string;
  /** The holder's name for people (`hostname/id`). */
  holderName: string;
  /** The holder's own time of its last renew (ISO 8601): informational, never compared with another clock. */
  renewed: string;
  /** How long a standby waits, watching the lease unchanged, before it takes it. */
  durationSeconds: number;
  /** How many times the lease changed hands. */
  transitions: number;
}

/** The lease as read, with the version a write must name. */
export interface LeaseRecord extends LeaseFields {
  version: number;
}

export interface LeaseStore {
  /** The lease now; undefined when there is none yet. */
  read(): Promise<LeaseRecord | undefined>;
  /** Makes the lease; one already there (another replica made it first) is a NameConflictError. */
  create(fields: LeaseFields): Promise<void>;
  /** Replaces the lease at `version`; a stale version is a LeaseConflictError. */
  update(version: number, fields: LeaseFields): Promise<void>;
}
