/**
 * The executor's part for Swarm jobs: the release step, the post-deploy command, and a job's
 * removal. It decides nothing: a job is judged by `judgeJob` (jobs.ts) on each look, and its
 * output is read through the runtime (the service logs API, whichever node ran the task: bounded,
 * stripped of terminal control, the app's secrets redacted) before the job goes.
 *
 * A release that does not succeed rejects with ReleaseFailedError (the reconciler records the
 * deploy as failed, with the output, and holds the revision); its job is removed. A release that
 * succeeds is recorded (`onReleased`) and its job kept: it is the swarm's record that the revision
 * was released until the spec deploying it is sent (a later `removeReleaseJob` action). A post-deploy
 * command's failure is reported in the deploy's record, never thrown. A manifest changed while a
 * job runs ends the wait: the job runs on, and the next pass judges it.
 */
import { lastLinesOf, secretValues } from '../../runtime/container-output.js';
import { NameConflictError, RuntimeError } from '../../runtime/errors.js';
import type { JobSpec } from '../../runtime/services.js';
import { ReleaseFailedError } from '../core/errors.js';
import type { PostDeployAction, ReleaseAction, RemoveJobAction, RemoveReleaseJobAction } from './actions.js';
import type { SwarmExecuteContext, SwarmExecuted } from './execute.js';
import { judgeJob, succeededRelease, type JobVerdict } from './jobs.js';

/** How many lines of a job's output are logged and recorded, as on one host. */
const LOG_TAIL_LINES = 20;

/** How much of a post-deploy command's last line its result quotes, as on one host. */
const LAST_LINE_CHARS = 200;

/**
 * The release step: waits for the release jobs of other revisions still running (then removes
 * them), makes the job (or waits for the one there already), judges it on each look; succeeded:
 * recorded, job kept; otherwise the job goes and ReleaseFailedError says why, with its output.
 */
export async function runRelease(
  action: ReleaseAction,
  ctx: SwarmExecuteContext,
  executed: SwarmExecuted,
): Promise<void> {
  const { logger } = ctx;
  const command = JSON.stringify(action.hook.command);
  for (const other of action.waitFor) {
    logger.info(
      { step: 'release-step', job: other.name },
      `Waiting for the release job ${other.name} of another revision to end (one release at a time)`,
    );
    const ended = await waitForJob(other.id, action.hook.timeout, ctx);
    if (ended === 'superseded') return supersede(executed, other.name);
    // Its revision was released all the same: a manifest that goes back to it releases nothing.
    if (ended.kind === 'succeeded') ctx.onReleased?.(other.revision);
    await ctx.services.removeJob(other.id);
  }
  let id = action.existing;
  if (id === undefined) {
    logger.info(
      { step: 'release-step', command: action.hook.command, job: action.job.name },
      `Running the release step ${command} as Swarm job ${action.job.name}...`,
    );
    id = await createJob(action.job, ctx, executed);
  } else {
    logger.info(
      { step: 'release-step', command: action.hook.command, job: action.job.name },
      `The release step ${command} of this revision is already under way (job ${action.job.name}); waiting for it`,
    );
  }
  const begin = ctx.clock.now();
  const verdict = await waitForJob(id, action.hook.timeout, ctx);
  if (verdict === 'superseded') return supersede(executed, action.job.name);
  const output = await outputOf(id, ctx);
  if (verdict.kind === 'succeeded') {
    ctx.onReleased?.(action.revision);
    logger.info(
      {
        step: 'release-step',
        result: 'passed',
        job: action.job.name,
        durationMs: ctx.clock.now() - begin,
        ...(output ? { output } : {}),
      },
      `Release step ${command} succeeded`,
    );
    return;
  }
  await removeQuietly(id, action.job.name, ctx);
  if (output !== '')
    logger.warn({ step: 'release-step', output }, `Release step output (last ${LOG_TAIL_LINES} lines)`);
  throw new ReleaseFailedError(`the release step ${command} ${verdict.why}`, output);
}

/**
 * The post-deploy command: makes its job (or waits for the one there already), judges it, reads
 * its output and removes it; how it ended goes to the deploy's record (`executed.postDeploy`).
 */
export async function runPostDeploy(
  action: PostDeployAction,
  ctx: SwarmExecuteContext,
  executed: SwarmExecuted,
): Promise<void> {
  const { logger } = ctx;
  const command = JSON.stringify(action.hook.command);
  let id = action.existing;
  try {
    id ??= await createJob(action.job, ctx, executed);
  } catch (error) {
    if (!(error instanceof RuntimeError)) throw error;
    executed.postDeploy = `failed: could not run: ${error.message}`;
    executed.postDeployFailure = {};
    logger.warn(
      { step: 'post-deploy', job: action.job.name, result: 'failed' },
      `Post-deploy ${command} could not run: ${error.message}; the deploy stands`,
    );
    return;
  }
  const verdict = await waitForJob(id, action.hook.timeout, ctx);
  if (verdict === 'superseded') {
    executed.postDeploy = `not awaited: the manifest changed while it ran (its job ${action.job.name} runs on)`;
    return;
  }
  const output = await outputOf(id, ctx);
  await removeQuietly(id, action.job.name, ctx);
  if (verdict.kind === 'succeeded') {
    executed.postDeploy = 'succeeded';
    logger.info(
      { step: 'post-deploy', job: action.job.name, result: 'passed' },
      `Post-deploy ${command} succeeded as Swarm job ${action.job.name}`,
    );
    return;
  }
  const last = lastLine(output);
  executed.postDeploy = `failed: ${verdict.why}${last ? `: ${last}` : ''}`;
  executed.postDeployFailure = {
    ...(verdict.exitCode !== undefined ? { exitCode: verdict.exitCode } : {}),
    ...(output ? { output } : {}),
  };
  logger.warn(
    { step: 'post-deploy', job: action.job.name, result: 'failed', ...(output ? { output } : {}) },
    `Post-deploy ${command} ${verdict.why} as Swarm job ${action.job.name}; the deploy stands`,
  );
}

/** Removes a job; a completed release job's revision is recorded as released first. One that cannot go now is a leftover for the next pass. */
export async function runRemoveJob(action: RemoveJobAction, ctx: SwarmExecuteContext): Promise<void> {
  if (action.released !== undefined) ctx.onReleased?.(action.released);
  if (await removeQuietly(action.id, action.name, ctx))
    ctx.logger.info({ step: 'job', job: action.name }, `Removed Swarm job ${action.name} (${action.reason})`);
}

/** Once the spec deploying the revision was sent: its completed release job, looked for afresh, goes; its revision is recorded as released first. */
export async function runRemoveReleaseJob(action: RemoveReleaseJobAction, ctx: SwarmExecuteContext): Promise<void> {
  const jobs = await ctx.services.listJobs(ctx.namespace, ctx.name);
  const job = succeededRelease(jobs, action.revision);
  if (!job) return;
  await runRemoveJob(
    { type: 'removeJob', id: job.id, name: job.name, released: action.revision, reason: action.reason },
    ctx,
  );
}

/** Makes the job; one by its name there already (made since the plan looked) is the one waited for. */
async function createJob(job: JobSpec, ctx: SwarmExecuteContext, executed: SwarmExecuted): Promise<string> {
  const { services, namespace, name } = ctx;
  try {
    return await services.createJob(job, await secretIdsFor(job, ctx, executed));
  } catch (error) {
    if (!(error instanceof NameConflictError)) throw error;
    const there = (await services.listJobs(namespace, name)).find((j) => j.name === job.name);
    if (!there) throw error;
    return there.id;
  }
}

/**
 * The ids of the Docker secrets the job mounts: those the plan's makeSecrets made, else the
 * swarm's (a plan that resumed a rollout made none).
 */
async function secretIdsFor(
  job: JobSpec,
  ctx: SwarmExecuteContext,
  executed: SwarmExecuted,
): Promise<Map<string, string>> {
  const ids = new Map(
    job.secrets.flatMap((s) => {
      const id = executed.secretIds.get(s.name);
      return id === undefined ? [] : [[s.name, id] as const];
    }),
  );
  if (ids.size === job.secrets.length) return ids;
  for (const secret of await ctx.services.listSecrets(ctx.namespace, ctx.name))
    if (!ids.has(secret.name) && job.secrets.some((s) => s.name === secret.name)) ids.set(secret.name, secret.id);
  return ids;
}

/** Looks at the job every poll until `judgeJob` says it ended (or timed out), or the manifest changed. */
async function waitForJob(
  id: string,
  timeoutSeconds: number,
  ctx: SwarmExecuteContext,
): Promise<Exclude<JobVerdict, { kind: 'waiting' }> | 'superseded'> {
  const { services, clock, namespace, name } = ctx;
  for (;;) {
    const job = (await services.listJobs(namespace, name)).find((j) => j.id === id);
    const verdict = judgeJob(job, timeoutSeconds, clock.now());
    if (verdict.kind !== 'waiting') return verdict;
    if (ctx.superseded?.()) return 'superseded';
    await clock.sleep(ctx.pollMs, ctx.signal);
  }
}

/** The last lines the job's task wrote, redacted; '' when they cannot be read. */
async function outputOf(id: string, ctx: SwarmExecuteContext): Promise<string> {
  const secrets = ctx.app ? secretValues(ctx.app.spec) : [];
  const text = await ctx.services.jobLogs(id, secrets).catch((error: unknown) => {
    if (!(error instanceof RuntimeError)) throw error;
    ctx.logger.warn({ step: 'job', err: error }, `could not read the output of ${ctx.name}'s job: ${error.message}`);
    return '';
  });
  return lastLinesOf(text, LOG_TAIL_LINES).trimEnd();
}

/** Removes a finished job, and says whether it went; one that cannot go now is left for the next pass (a leftover). */
async function removeQuietly(id: string, jobName: string, ctx: SwarmExecuteContext): Promise<boolean> {
  try {
    await ctx.services.removeJob(id);
    return true;
  } catch (error) {
    if (!(error instanceof RuntimeError)) throw error;
    ctx.logger.warn({ step: 'job', err: error }, `could not remove Swarm job ${jobName}: ${error.message}`);
    return false;
  }
}

function supersede(executed: SwarmExecuted, jobName: string): void {
  executed.superseded = `the manifest changed while Swarm job ${jobName} ran; it runs on, and the next pass judges it`;
}

function lastLine(output: string): string {
  const line = output.trimEnd().split('\n').pop() ?? '';
  return line.length > LAST_LINE_CHARS ? `${line.slice(0, LAST_LINE_CHARS)}…` : line;
}
