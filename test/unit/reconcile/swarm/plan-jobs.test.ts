import { strict as assert } from 'node:assert';
import type { SwarmAction, SwarmObservation } from '../../../../src/reconcile/swarm/actions.js';
import { describeSteps } from '../../../../src/reconcile/swarm/describe.js';
import { planService } from '../../../../src/reconcile/swarm/plan.js';
import type { JobSummary } from '../../../../src/runtime/services.js';
import { observe, registryApp, revisionOf, serviceOf, specOf, task, type Seen } from './fixtures.js';

const RELEASE = { command: ['./migrate'], timeout: 60 };
const POST_DEPLOY = { command: ['./warm-cache'], timeout: 30 };
const v1 = registryApp('v1', { release: RELEASE, postDeploy: POST_DEPLOY });
const v2 = registryApp('v2', { release: RELEASE, postDeploy: POST_DEPLOY });
const spec1 = specOf(v1);
const running1 = [task(spec1, 1), task(spec1, 2)];

const job = (overrides: Partial<JobSummary>): JobSummary => ({
  id: 'job1',
  name: 'dokku_web_release_0123456789',
  app: 'web',
  role: 'release',
  revision: revisionOf(v2),
  createdAt: 1,
  state: 'running',
  startedAt: 1,
  error: '',
  nodeId: 'n1',
  ...overrides,
});

/** v2 wanted while the service runs v1, with these jobs and this record of released revisions. */
const toV2 = (jobs: JobSummary[] = [], released: string[] = [], seen: Seen = {}): SwarmObservation => ({
  ...observe(v2, { service: serviceOf(spec1), tasks: running1, ...seen }),
  jobs,
  released,
});
const types = (actions: SwarmAction[]) => actions.map((a) => a.type);
const find = <T extends SwarmAction['type']>(actions: SwarmAction[], type: T) =>
  actions.find((a): a is Extract<SwarmAction, { type: T }> => a.type === type);

describe('Swarm planner: the release step and the post-deploy command as jobs', () => {
  it('runs the release step before the update and the post-deploy command after the rollout, each a job of the new revision', () => {
    const plan = planService(toV2());
    assert.deepEqual(types(plan.actions), ['release', 'update', 'removeReleaseJob', 'watch', 'postDeploy']);
    const release = find(plan.actions, 'release');
    const update = find(plan.actions, 'update');
    assert.equal(release?.revision, revisionOf(v2));
    assert.equal(release?.revision, plan.rollout?.revision, 'the revision the rollout deploys');
    assert.equal(release?.job.image, update?.spec.image, 'the same digest-pinned image');
    assert.deepEqual(release?.job.command, ['./migrate']);
    assert.equal(release?.existing, undefined);
    assert.equal(release?.reason, 'the release step runs once per revision, before any task of it starts');
    assert.deepEqual(find(plan.actions, 'postDeploy')?.job.command, ['./warm-cache']);
    assert.equal(find(plan.actions, 'postDeploy')?.job.labels['berth.role'], 'postdeploy');
  });

  it('a first deploy releases before the service is created', () => {
    const plan = planService({ ...observe(v1), jobs: [], released: [] });
    assert.deepEqual(types(plan.actions), ['release', 'create', 'removeReleaseJob', 'watch', 'postDeploy']);
  });

  it('a revision berth recorded as released is not released again', () => {
    assert.deepEqual(types(planService(toV2([], [revisionOf(v2)])).actions), ['update', 'watch', 'postDeploy']);
  });

  it('a completed release job in the swarm counts as released (a berth with no record of it): the update is sent, then the job goes, its revision recorded', () => {
    const plan = planService(toV2([job({ state: 'complete', exitCode: 0 })]));
    assert.deepEqual(types(plan.actions), ['update', 'removeReleaseJob', 'watch', 'postDeploy']);
    assert.deepEqual(find(plan.actions, 'removeReleaseJob'), {
      type: 'removeReleaseJob',
      revision: revisionOf(v2),
      reason: 'the service carries its revision now',
    });
  });

  it("the revision's release job under way (berth restarted mid-release) is waited for, not made again", () => {
    const plan = planService(toV2([job({ state: 'running' })]));
    const release = find(plan.actions, 'release');
    assert.equal(release?.existing, 'job1');
    assert.match(release?.reason ?? '', /under way already/);
    const [step] = describeSteps(plan);
    assert.equal(step?.symbol, '▶');
    assert.match(
      step?.text ?? '',
      /^wait for the release job dokku_web_release_[0-9a-f]{10} under way \(\["\.\/migrate"\]\)$/,
    );
  });

  it("another revision's release job still running is waited for first; ended jobs go once the spec is sent", () => {
    const plan = planService(
      toV2([
        job({ id: 'old', name: 'dokku_web_release_aaaaaaaaaa', revision: 'other' }),
        job({ id: 'done', name: 'dokku_web_postdeploy_bbbbbbbbbb', role: 'postdeploy', state: 'complete' }),
      ]),
    );
    assert.deepEqual(types(plan.actions), [
      'release',
      'update',
      'removeReleaseJob',
      'removeJob',
      'watch',
      'postDeploy',
    ]);
    assert.deepEqual(find(plan.actions, 'release')?.waitFor, [
      { id: 'old', name: 'dokku_web_release_aaaaaaaaaa', revision: 'other' },
    ]);
    assert.equal(find(plan.actions, 'removeJob')?.id, 'done');
  });

  it('a change of replicas alone moves no task to a new revision: no release, no post-deploy', () => {
    const scaled = registryApp('v1', { release: RELEASE, postDeploy: POST_DEPLOY, replicas: 3 });
    const plan = planService({
      ...observe(scaled, { service: serviceOf(spec1), tasks: running1 }),
      jobs: [],
      released: [],
    });
    assert.deepEqual(types(plan.actions), ['update', 'watch']);
  });

  it('a held revision is not released again; a deleted manifest removes every job, running or not', () => {
    const held = planService(
      toV2([], [], { held: { revision: revisionOf(v2), reason: 'the release step ["./migrate"] exited with code 3' } }),
    );
    assert.equal(
      held.actions.some((a) => a.type === 'release'),
      false,
    );
    assert.equal(held.hold?.revision, revisionOf(v2));

    const removed = planService({
      ...observe(undefined, { service: serviceOf(spec1), tasks: running1 }),
      jobs: [job({ id: 'a' }), job({ id: 'b', state: 'failed', exitCode: 1 })],
    });
    assert.deepEqual(types(removed.actions), ['remove', 'removeJob', 'removeJob']);
  });

  it('in sync: a job that ended (a berth killed before removing it) goes; one still running is left to end', () => {
    const inSync = { ...observe(v1, { service: serviceOf(spec1), tasks: running1 }), released: [] };
    const ended = planService({
      ...inSync,
      jobs: [job({ role: 'postdeploy', revision: revisionOf(v1), state: 'failed' })],
    });
    assert.deepEqual(types(ended.actions), ['removeJob']);
    assert.equal(ended.rollout, undefined, 'nothing is deployed');
    const runningJob = planService({ ...inSync, jobs: [job({ role: 'postdeploy', revision: revisionOf(v1) })] });
    assert.deepEqual(runningJob.actions, []);
    // Killed after the update and before the job went: its revision is recorded as released as it goes.
    const released = planService({
      ...inSync,
      jobs: [job({ revision: revisionOf(v1), state: 'complete', exitCode: 0 })],
    });
    assert.equal(find(released.actions, 'removeJob')?.released, revisionOf(v1));
  });

  it('berth plan says what runs where', () => {
    const steps = describeSteps(planService(toV2()));
    assert.match(
      steps[0]?.text ?? '',
      /^release \["\.\/migrate"\] as Swarm job dokku_web_release_[0-9a-f]{10} of 127\.0\.0\.1:5000\/team\/web:v2@sha256:\S+ \(timeout 60s\)$/,
    );
    assert.match(
      steps.at(-1)?.text ?? '',
      /^post-deploy \["\.\/warm-cache"\] as Swarm job dokku_web_postdeploy_[0-9a-f]{10} once the rollout completes$/,
    );
  });
});
