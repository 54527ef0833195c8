/**
 * The job actions of a Swarm plan (pure): where the release step and the post-deploy command go
 * in a rollout, and which jobs go when they have ended.
 *
 * - **Release**: before the spec of a new revision is sent (a create, or an update that rolls
 *   tasks), unless the revision was released: berth's record says so, or its release job is
 *   still in the swarm, completed. That job stays until the spec deploying its revision was sent,
 *   so a berth restarted at any point finds it: mid-job (it waits for it), after it (it sends the
 *   spec, releasing nothing), even with an empty state directory. Then it is removed, its
 *   revision written into berth's record first.
 * - **Post-deploy**: once the rollout completed, a job of the new revision.
 * - **Leftovers**: a job that ended goes (a berth killed before it removed it); one still running
 *   is left to end; every job of an app whose manifest is gone goes at once.
 */
import type { App } from '../../manifest/types.js';
import type { JobSummary, ServiceSpec } from '../../runtime/services.js';
import type { SwarmAction, SwarmObservation } from './actions.js';
import { hasEnded, isReleased, jobSpecFor, succeededRelease } from './jobs.js';

/**
 * The release step around the send of `next`, the spec deploying `revision`: `before` it, the
 * release job (none when the app has no release step or the revision was released); `after` it,
 * the removal of that revision's completed release job (the one just run, or one found) and of
 * every other job that ended. Release jobs of other revisions still running are waited for by
 * the release action, or left to end.
 */
export function releaseAround(
  observation: SwarmObservation,
  app: App,
  next: ServiceSpec,
  revision: string,
): { before: SwarmAction[]; after: SwarmAction[] } {
  const hook = app.spec.release;
  const jobs = observation.jobs ?? [];
  const releasing = hook !== undefined && !isReleased(observation.released ?? [], jobs, revision);
  const releases = jobs.filter((j) => j.role === 'release');
  const own = releases.find((j) => j.revision === revision);
  const before: SwarmAction[] =
    hook && releasing
      ? [
          {
            type: 'release',
            revision,
            hook,
            job: jobSpecFor(next, 'release', revision, hook),
            ...(own ? { existing: own.id } : {}),
            waitFor: releases
              .filter((j) => j.revision !== revision && !hasEnded(j))
              .map(({ id, name, revision: other }) => ({ id, name, revision: other })),
            reason: own
              ? 'its release job is under way already (berth restarted mid-release): waited for, not run twice'
              : 'the release step runs once per revision, before any task of it starts',
          },
        ]
      : [];
  const found = succeededRelease(jobs, revision);
  return {
    before,
    after: [
      ...(releasing || found
        ? [{ type: 'removeReleaseJob' as const, revision, reason: 'the service carries its revision now' }]
        : []),
      ...endedJobs(jobs.filter((j) => !(j.role === 'release' && j.revision === revision))),
    ],
  };
}

/** The post-deploy command of the app, as a job of `revision`, once `next` rolled out. */
export function postDeployAfter(
  observation: SwarmObservation,
  app: App,
  next: ServiceSpec,
  revision: string,
): SwarmAction[] {
  const hook = app.spec.postDeploy;
  if (!hook) return [];
  const existing = (observation.jobs ?? []).find(
    (j) => j.role === 'postdeploy' && j.revision === revision && !hasEnded(j),
  );
  return [
    {
      type: 'postDeploy',
      revision,
      hook,
      job: jobSpecFor(next, 'postdeploy', revision, hook),
      ...(existing ? { existing: existing.id } : {}),
      reason: 'runs once after the rollout completed, as a job of the new revision',
    },
  ];
}

/** The app's jobs that ended, removed (none is running: those are left to end); a completed release job's revision is recorded first. */
export function leftoverJobs(observation: SwarmObservation): SwarmAction[] {
  return endedJobs(observation.jobs ?? []);
}

/** Every job of an app whose manifest is gone, running or not. */
export function everyJob(observation: SwarmObservation): SwarmAction[] {
  return (observation.jobs ?? []).map((j) => removal(j, 'its manifest was removed'));
}

function endedJobs(jobs: readonly JobSummary[]): SwarmAction[] {
  return jobs
    .filter(hasEnded)
    .map((j) => removal(j, j.role === 'release' && j.state === 'complete' ? 'its release step succeeded' : 'it ended'));
}

function removal(job: JobSummary, reason: string): SwarmAction {
  return {
    type: 'removeJob',
    id: job.id,
    name: job.name,
    ...(job.role === 'release' && job.state === 'complete' ? { released: job.revision } : {}),
    reason,
  };
}
