/**
 * The hold of a Swarm app kept in the swarm, beside berth's state file, so a berth started again,
 * or on another manager with an empty state directory, finds it (pure).
 *
 * - Once Swarm has finished rolling a failed revision back, berth writes the hold onto the
 *   service's own labels (`berth.held-revision`, `-service-hash`, `-image`, `-reason`): a
 *   label-only update, which moves no task. Like any update it replaces Swarm's PreviousSpec (after
 *   a rollback that is the failed spec, or nothing when Swarm decided the rollback itself) and
 *   empties UpdateStatus. So the labels count only while UpdateStatus is empty, as that write
 *   leaves it: a later rollback restoring a spec that carried older labels shows `rollback_*`,
 *   which makes them stale. berth's own creates and updates never carry them: any spec berth
 *   sends ends the hold, as a manifest change or `berth retry` should.
 * - Before that write (or when it failed), a rollback someone asked of Swarm (berth, past
 *   deploy.progressDeadline or after deploy.monitor, or a person's `docker service rollback`)
 *   still names the spec it left: Swarm keeps it as PreviousSpec while UpdateStatus says
 *   `rollback_*`. A rollback Swarm decided itself forgets it; the tasks it started for that spec
 *   stay in the service's task history, each labelled with the spec's hash and naming its image:
 *   the newest task of another spec than the one serving is the spec rolled back. So a berth that
 *   never saw the update (a new leader after a takeover, a berth restarted with an empty state
 *   directory) finds that hold too, instead of sending the failed revision again.
 */
import type { ServiceSummary, TaskSummary, UpdateState } from '../../runtime/services.js';
import type { HeldSpec } from './actions.js';

export const LABEL_HELD_REVISION = 'berth.held-revision';
export const LABEL_HELD_SERVICE_HASH = 'berth.held-service-hash';
export const LABEL_HELD_IMAGE = 'berth.held-image';
export const LABEL_HELD_REASON = 'berth.held-reason';

/** How much of the reason a label keeps. */
const REASON_CHARS = 500;

/** Swarm's update states after a rollback, whoever asked for it. */
const ROLLED_BACK: ReadonlySet<UpdateState> = new Set(['rollback_started', 'rollback_completed', 'rollback_paused']);

/** Update states in which the hold labels may be written: no rollout or rollback of Swarm's runs or waits. */
const SETTLED: ReadonlySet<UpdateState> = new Set(['none', 'completed', 'rollback_completed']);

/** The labels that keep `hold` on the service (undefined: a label of an earlier hold goes). */
export function holdLabels(hold: HeldSpec): Record<string, string | undefined> {
  const reason = hold.reason.replace(/\s+/g, ' ');
  return {
    [LABEL_HELD_REVISION]: hold.revision,
    [LABEL_HELD_REASON]: reason.length > REASON_CHARS ? `${reason.slice(0, REASON_CHARS)}...` : reason,
    [LABEL_HELD_SERVICE_HASH]: hold.serviceHash,
    [LABEL_HELD_IMAGE]: hold.image,
  };
}

/**
 * The hold the service shows: its hold labels while they count, else the spec a rollback left
 * (Swarm's PreviousSpec, or after a rollback Swarm decided itself the newest of the service's
 * `tasks` that ran another spec).
 */
export function heldBySwarm(service: ServiceSummary, tasks: readonly TaskSummary[] = []): HeldSpec | undefined {
  const labels = service.labels ?? {};
  const revision = labels[LABEL_HELD_REVISION];
  const { state, message } = service.update;
  if (state === 'none' && revision !== undefined && revision !== '') {
    const serviceHash = labels[LABEL_HELD_SERVICE_HASH];
    const image = labels[LABEL_HELD_IMAGE];
    return {
      revision,
      reason: labels[LABEL_HELD_REASON] || 'rolled back',
      ...(serviceHash ? { serviceHash } : {}),
      ...(image ? { image } : {}),
    };
  }
  const { previousSpecHash, previousImage, previousServiceHash } = service;
  if (!ROLLED_BACK.has(state)) return undefined;
  if (previousSpecHash === undefined || previousImage === undefined) return heldByTasks(service, tasks);
  if (previousServiceHash !== undefined && previousServiceHash === service.serviceHash) return undefined;
  return {
    revision: revisionOf(previousSpecHash, previousImage),
    reason: `Swarm rolled it back (${message || state.replace('_', ' ')})`,
    ...(previousServiceHash ? { serviceHash: previousServiceHash } : {}),
    image: previousImage,
  };
}

/** After a rollback Swarm decided itself: the newest task of `service` that ran another spec than it runs now. */
function heldByTasks(service: ServiceSummary, tasks: readonly TaskSummary[]): HeldSpec | undefined {
  let newest: (TaskSummary & { image: string }) | undefined;
  for (const task of tasks)
    if (
      task.serviceId === service.id &&
      task.specHash !== '' &&
      task.specHash !== service.specHash &&
      task.image !== undefined &&
      (newest === undefined || task.createdAt > newest.createdAt)
    )
      newest = { ...task, image: task.image };
  if (newest === undefined) return undefined;
  return {
    revision: revisionOf(newest.specHash, newest.image),
    reason: `Swarm rolled it back (${service.update.message || service.update.state.replace('_', ' ')})`,
    image: newest.image,
  };
}

/**
 * Whether the hold must be written onto the service now: the service does not show exactly it
 * yet, and Swarm is neither rolling out nor rolling back (a write would restart that).
 */
export function holdToRecord(service: ServiceSummary, hold: HeldSpec): boolean {
  if (!SETTLED.has(service.update.state)) return false;
  const shown = service.update.state === 'none' ? heldBySwarm(service) : undefined;
  return !(
    shown !== undefined &&
    shown.revision === hold.revision &&
    shown.serviceHash === hold.serviceHash &&
    shown.image === hold.image
  );
}

/** The revision key (`<specHash>@<digest>`) of a spec with `specHash` running `image`. */
export function revisionOf(specHash: string, image: string): string {
  return `${specHash}@${digestOf(image)}`;
}

/** The `sha256:...` a pinned reference names, else the reference itself. */
export function digestOf(image: string): string {
  const at = image.indexOf('@');
  return at < 0 ? image : image.slice(at + 1);
}

/** The reference and digest of a held image (`repo:tag@sha256:...`), for a resync that locates the tag. */
export function heldReference(image: string | undefined): { ref: string; digest: string } | undefined {
  const at = image?.indexOf('@') ?? -1;
  if (image === undefined || at < 0) return undefined;
  return { ref: image.slice(0, at), digest: image.slice(at + 1) };
}
