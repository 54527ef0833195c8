import { strict as assert } from 'node:assert';
import { isReleased, jobName, jobSpecFor, judgeJob } from '../../../../src/reconcile/swarm/jobs.js';
import type { JobSummary } from '../../../../src/runtime/services.js';
import { registryApp, revisionOf, specOf } from './fixtures.js';

const job = (overrides: Partial<JobSummary> = {}): JobSummary => ({
  id: 'job1',
  name: 'dokku_web_release_0123456789',
  app: 'web',
  role: 'release',
  revision: 'rev',
  createdAt: 1_000,
  state: 'running',
  startedAt: 2_000,
  error: '',
  nodeId: 'n1',
  ...overrides,
});

describe('Swarm jobs (pure): the job of a revision, and how it stands', () => {
  it("runs the hook's command on the revision's own spec: digest-pinned image, env, volumes, secrets, limits; labelled with its role and revision", () => {
    const app = registryApp('v2', {
      env: { DB_URL: 'postgres://db/app' },
      volumes: [{ source: 'web-data', target: '/data', readOnly: false }],
      resources: { memory: '256m', cpus: 0.5 },
    });
    const service = specOf(app);
    const spec = jobSpecFor(service, 'release', revisionOf(app), { command: ['./migrate', 'up'], timeout: 60 });
    assert.equal(spec.image, service.image);
    assert.match(spec.image, /:v2@sha256:/, 'pinned to the digest the service runs');
    assert.deepEqual(spec.command, ['./migrate', 'up']);
    assert.deepEqual(spec.env, service.env);
    assert.deepEqual(spec.volumes, service.volumes);
    assert.deepEqual(spec.secrets, service.secrets);
    assert.deepEqual(spec.resources, { memory: '256m', cpus: 0.5 });
    assert.deepEqual(spec.labels, {
      'berth.managed': 'true',
      'berth.namespace': 'dokku',
      'berth.app': 'web',
      'berth.role': 'release',
      'berth.revision': revisionOf(app),
    });
    assert.equal(
      Object.hasOwn(spec.labels, 'berth.spec-hash'),
      false,
      "a job's task never counts as one of the service's",
    );
    assert.match(spec.name, /^dokku_web_release_[0-9a-f]{10}$/);
  });

  it('names one job per revision and role, within Swarm’s 63 characters', () => {
    assert.equal(jobName('dokku_web', 'release', 'a@sha256:1'), jobName('dokku_web', 'release', 'a@sha256:1'));
    assert.notEqual(jobName('dokku_web', 'release', 'a@sha256:1'), jobName('dokku_web', 'release', 'a@sha256:2'));
    assert.notEqual(jobName('dokku_web', 'release', 'a@sha256:1'), jobName('dokku_web', 'postdeploy', 'a@sha256:1'));
    const long = jobName(`dokku_${'x'.repeat(80)}`, 'postdeploy', 'r');
    assert.equal(long.length, 63);
    assert.match(long, /_postdeploy_[0-9a-f]{10}$/);
  });

  it('a revision was released when berth recorded it, or when its completed release job is still in the swarm', () => {
    assert.equal(isReleased(['rev'], [], 'rev'), true);
    assert.equal(isReleased([], [job({ state: 'complete', exitCode: 0 })], 'rev'), true);
    assert.equal(isReleased([], [job({ state: 'running' })], 'rev'), false, 'still running');
    assert.equal(isReleased([], [job({ state: 'failed', exitCode: 3 })], 'rev'), false);
    assert.equal(isReleased([], [job({ state: 'complete', role: 'postdeploy' })], 'rev'), false);
    assert.equal(isReleased([], [job({ state: 'complete', revision: 'other' })], 'rev'), false);
  });

  it('judges a job: completed, exited non-zero, could not run, timed out from its start (or creation), gone', () => {
    assert.deepEqual(judgeJob(job({ state: 'complete', exitCode: 0 }), 60, 5_000), { kind: 'succeeded' });
    assert.deepEqual(judgeJob(job({ state: 'failed', exitCode: 3, error: 'task: non-zero exit (3)' }), 60, 5_000), {
      kind: 'failed',
      why: 'exited with code 3',
      exitCode: 3,
      timedOut: false,
    });
    assert.deepEqual(judgeJob(job({ state: 'rejected', startedAt: 0, error: 'No such image: web:v2' }), 60, 5_000), {
      kind: 'failed',
      why: 'could not run: No such image: web:v2',
      timedOut: false,
    });
    assert.deepEqual(judgeJob(job({ state: 'running', startedAt: 2_000 }), 60, 61_999), { kind: 'waiting' });
    assert.deepEqual(judgeJob(job({ state: 'running', startedAt: 2_000 }), 60, 62_000), {
      kind: 'failed',
      why: 'did not finish within 60s',
      timedOut: true,
    });
    // Not started yet (a pull, no node): the timeout runs from the job's creation.
    assert.deepEqual(judgeJob(job({ state: 'pending', startedAt: 0 }), 60, 60_999), { kind: 'waiting' });
    assert.equal(judgeJob(job({ state: 'pending', startedAt: 0 }), 60, 61_000).kind, 'failed');
    assert.deepEqual(judgeJob(undefined, 60, 0), {
      kind: 'failed',
      why: 'could not run: its job disappeared from the swarm',
      timedOut: false,
    });
  });
});
