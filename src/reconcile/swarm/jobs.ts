/**
 * A revision's one-off Swarm jobs (pure): the release step, run before the service is sent, and
 * the post-deploy command, run once the rollout completed. Each is a job of the new revision's own
 * service spec: the same digest-pinned image, env, volumes, Docker secrets and limits, with the
 * hook's command as its arguments; one task, never restarted. Named after its revision and role,
 * and labelled with both, so a berth restarted mid-job finds it instead of making another.
 *
 * A job is judged here too: done when its task completed (exit 0), failed when the task ended
 * otherwise or could not run, timed out when it ran longer than the hook's timeout (or did not
 * start within it: no node took it, or its image could not be pulled).
 */
import { createHash } from 'node:crypto';
import type { Hook } from '../../manifest/types.js';
import type { JobRole, JobSpec, JobSummary, ServiceSpec, TaskState } from '../../runtime/services.js';
import { LABEL_APP, LABEL_MANAGED, LABEL_NAMESPACE, LABEL_REVISION, LABEL_ROLE } from '../../runtime/types.js';

/** Swarm's longest service name. */
const MAX_SERVICE_NAME = 63;

/** The job of `role` for `revision`, from `service`, the spec that deploys that revision. */
export function jobSpecFor(service: ServiceSpec, role: JobRole, revision: string, hook: Hook): JobSpec {
  return {
    name: jobName(service.name, role, revision),
    labels: {
      [LABEL_MANAGED]: 'true',
      [LABEL_NAMESPACE]: service.labels[LABEL_NAMESPACE] ?? '',
      [LABEL_APP]: service.labels[LABEL_APP] ?? '',
      [LABEL_ROLE]: role,
      [LABEL_REVISION]: revision,
    },
    image: service.image,
    command: hook.command,
    env: service.env,
    volumes: service.volumes,
    secrets: service.secrets,
    resources: service.resources,
  };
}

/** `<service>_<role>_<10 hex digits of the revision>`, the service's name shortened to fit Swarm's 63. */
export function jobName(service: string, role: JobRole, revision: string): string {
  const suffix = `_${role}_${createHash('sha256').update(revision).digest('hex').slice(0, 10)}`;
  return `${service.slice(0, MAX_SERVICE_NAME - suffix.length)}${suffix}`;
}

/** Task states a job's task does not leave. */
const ENDED: ReadonlySet<TaskState> = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);

/** Whether the job's task has ended (or the job never got one and never will). */
export function hasEnded(job: JobSummary): boolean {
  return ENDED.has(job.state);
}

/** The release job of `revision` whose task completed: the record, in the swarm, that it was released. */
export function succeededRelease(jobs: readonly JobSummary[], revision: string): JobSummary | undefined {
  return jobs.find((j) => j.role === 'release' && j.revision === revision && j.state === 'complete');
}

/**
 * Whether the release step of `revision` succeeded: berth's record says so (`released`), or its
 * job is still in the swarm, completed (a berth restarted before the service was sent, even with
 * an empty state directory).
 */
export function isReleased(released: readonly string[], jobs: readonly JobSummary[], revision: string): boolean {
  return released.includes(revision) || succeededRelease(jobs, revision) !== undefined;
}

/** What a look at a job says: still on its way, succeeded, or failed (and why). */
export type JobVerdict =
  | { kind: 'waiting' }
  | { kind: 'succeeded' }
  /** `why`: `exited with code 3`, `did not finish within 60s`, `could not run: <Swarm's error>`. */
  | { kind: 'failed'; why: string; exitCode?: number; timedOut: boolean };

/**
 * How the job stands at `now`: its task completed, ended otherwise, or still on its way; past the
 * hook's timeout (from when its task started running, or from the job's creation while it has not)
 * it failed. A job that is gone failed too.
 */
export function judgeJob(job: JobSummary | undefined, timeoutSeconds: number, now: number): JobVerdict {
  if (!job) return { kind: 'failed', why: 'could not run: its job disappeared from the swarm', timedOut: false };
  if (job.state === 'complete') return { kind: 'succeeded' };
  if (hasEnded(job)) {
    if (job.exitCode !== undefined && job.exitCode !== 0)
      return { kind: 'failed', why: `exited with code ${job.exitCode}`, exitCode: job.exitCode, timedOut: false };
    return { kind: 'failed', why: `could not run: ${job.error || `its task is ${job.state}`}`, timedOut: false };
  }
  const since = job.startedAt > 0 ? job.startedAt : job.createdAt;
  if (now - since >= timeoutSeconds * 1000)
    return { kind: 'failed', why: `did not finish within ${timeoutSeconds}s`, timedOut: true };
  return { kind: 'waiting' };
}
