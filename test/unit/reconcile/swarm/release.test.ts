import { strict as assert } from 'node:assert';
import { setMaxListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { NewEvent } from '../../../../src/events/types.js';
import type { App } from '../../../../src/manifest/types.js';
import type { Desired } from '../../../../src/reconcile/core/desired.js';
import { jobSpecFor } from '../../../../src/reconcile/swarm/jobs.js';
import { SwarmReconciler } from '../../../../src/reconcile/swarm/reconciler.js';
import { StateStore } from '../../../../src/state/store.js';
import { FakeClock } from '../../../support/fake-clock.js';
import { FakeServices } from '../../../support/fake-services.js';
import { digestOf, registryApp, revisionOf, specOf } from './fixtures.js';

const REGISTRY_IMAGE = '127.0.0.1:5000/team/web';
const SECRET = 'hunter2-never-shown';
const MIGRATE = ['sh', '-c', 'echo applying 0042; echo password is $DB_PASSWORD; exit 3'];

/** `web` at `tag` with a release step (and whatever else `extra` adds), its password in its env. */
const web = (tag: string, extra: Partial<App['spec']> = {}) =>
  registryApp(tag, { env: { DB_PASSWORD: SECRET }, release: { command: MIGRATE, timeout: 60 }, ...extra });

describe('SwarmReconciler: the release step and the post-deploy command as Swarm jobs (in-memory swarm)', () => {
  let stateDir: string;
  let clock: FakeClock;
  let services: FakeServices;
  let state: StateStore;
  let desired: Map<string, Desired>;
  let events: NewEvent[];
  let retries: Set<string>;
  let logs: Record<string, unknown>[];
  const signal = new AbortController().signal;
  setMaxListeners(Number.POSITIVE_INFINITY, signal);

  const want = (app: App) => desired.set(app.name, { kind: 'present', app });
  const make = (store = state) =>
    new SwarmReconciler(
      {
        services,
        clock,
        logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
        state: store,
        desired: (name) => desired.get(name) ?? { kind: 'absent' },
        events: { emit: (event) => void events.push(event) },
        retries: { take: async (name) => retries.delete(name) },
      },
      { namespace: 'dokku', stopTimeoutSeconds: 10, pollMs: 100 },
    );
  /** Runs the clock until `work` settles (the reconciler sleeps between looks). */
  const drive = async <T>(work: Promise<T>): Promise<T> => {
    let settled = false;
    work.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let step = 0; !settled && step < 100_000; step++) await clock.advance(100);
    return work;
  };
  /** A pass, and how it ended (phase, failed; when the next pass comes is the deploy.monitor watch's business). */
  const reconcile = async (reconciler: SwarmReconciler, on = signal) => {
    const { phase, failed } = await drive(reconciler.reconcile('web', on));
    return { phase, failed };
  };
  const history = () => state.get('web')?.history.map((h) => `${h.tag} ${h.outcome}`);
  /** The changing calls, job ids and versions left out: what was sent, in order. */
  const sentKinds = () => services.sent().map((call) => call.split(' ')[0]);
  const releases = () => services.jobs.made('release');

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'berth-swarm-release-'));
    clock = new FakeClock();
    services = new FakeServices(clock);
    state = await StateStore.open(stateDir, 'dokku');
    desired = new Map();
    events = [];
    retries = new Set();
    logs = [];
    // The digests the fixtures pin (revisionOf names the same revisions).
    for (const tag of ['v1', 'v2', 'v3']) services.inRegistry(`${REGISTRY_IMAGE}:${tag}`, digestOf(tag));
  });
  afterEach(async () => {
    await state.flush();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('releases each revision once, as a one-off job of its pinned image, before any task of it starts; a restart releases nothing', async () => {
    services.jobs.script = () => ({ exitCode: 0, output: 'migrated\n' });
    want(web('v1'));
    assert.deepEqual(await reconcile(make()), { phase: 'Running', failed: false });
    assert.deepEqual(sentKinds(), ['createJob', 'createService', 'removeJob']);
    const [job] = releases();
    assert.equal(job?.image, services.serviceOf('web')?.spec.image, 'the digest-pinned image the service runs');
    assert.match(job?.image ?? '', /:v1@sha256:/);
    assert.deepEqual(job?.command, MIGRATE);
    assert.deepEqual(job?.env, { DB_PASSWORD: SECRET });
    assert.equal(job?.labels['berth.revision'], revisionOf(web('v1')));
    assert.equal(job?.labels['berth.role'], 'release');
    assert.equal(services.jobs.live.size, 0, 'the job is removed once the service carries its revision');
    assert.deepEqual(state.get('web')?.released, [revisionOf(web('v1'))]);
    assert.deepEqual(history(), ['v1 succeeded']);
    const passed = logs.find((l) => l.step === 'release-step' && l.result === 'passed');
    assert.equal(passed?.output, 'migrated');

    await reconcile(make());
    await reconcile(make());
    assert.equal(releases().length, 1, 'neither a resync nor a restarted berth releases v1 again');

    want(web('v2'));
    await reconcile(make());
    assert.equal(releases().length, 2);
    assert.deepEqual(sentKinds().slice(3), ['createJob', 'updateService', 'removeJob']);
    assert.deepEqual(history(), ['v2 succeeded', 'v1 succeeded']);
  });

  it('a berth with an empty state directory finds the completed release job in the swarm and sends the update without releasing again', async () => {
    want(web('v1'));
    await reconcile(make());
    // A berth released v2 and was lost before it sent the update: its job stands, completed.
    const v2 = web('v2');
    services.jobs.create(
      jobSpecFor(specOf(v2), 'release', revisionOf(v2), { command: MIGRATE, timeout: 60 }),
      new Map(),
    );
    await clock.advance(services.jobs.runMs);
    const emptyDir = await mkdtemp(join(tmpdir(), 'berth-swarm-release-empty-'));
    try {
      const empty = await StateStore.open(emptyDir, 'dokku');
      want(v2);
      const before = services.sent().length;
      assert.deepEqual(await reconcile(make(empty)), { phase: 'Running', failed: false });
      assert.equal(releases().length, 2, 'no second release of v2');
      assert.deepEqual(
        services
          .sent()
          .slice(before)
          .map((call) => call.split(' ')[0]),
        ['updateService', 'removeJob'],
      );
      assert.deepEqual(
        empty.get('web')?.released,
        [revisionOf(v2)],
        'the swarm’s record is kept in berth’s before the job goes',
      );
      await empty.flush();
    } finally {
      await rm(emptyDir, { recursive: true, force: true });
    }
  });

  it('a berth killed mid-release finds the job under way on restart and waits for it: no second job', async () => {
    want(web('v1'));
    await reconcile(make());
    services.jobs.runMs = 20_000;
    want(web('v2'));
    const killed = new AbortController();
    setMaxListeners(Number.POSITIVE_INFINITY, killed.signal);
    const first = make().reconcile('web', killed.signal);
    first.catch(() => undefined);
    for (let step = 0; services.jobs.live.size === 0 && step < 1_000; step++) await clock.advance(100);
    await clock.advance(2_000);
    killed.abort(new Error('killed'));
    await assert.rejects(first);
    assert.equal(services.jobs.live.size, 1, 'the job runs on without berth');
    assert.equal(services.sent().filter((c) => c.startsWith('updateService')).length, 0);

    assert.deepEqual(await reconcile(make()), { phase: 'Running', failed: false });
    assert.equal(releases().length, 2, 'one job for v1, one for v2: the restarted berth made none');
    assert.ok(
      logs.some((l) => /already under way \(job dokku_web_release_[0-9a-f]{10}\); waiting for it/.test(String(l.msg))),
    );
    assert.equal(services.serviceOf('web')?.spec.image.includes(':v2@'), true);
    assert.equal(services.jobs.live.size, 0);
    assert.deepEqual(history(), ['v2 succeeded', 'v1 succeeded']);
  });

  it('a manifest changed mid-release ends the wait at once; the next pass waits for that job before it releases the new revision', async () => {
    want(web('v1'));
    await reconcile(make());
    services.jobs.runMs = 20_000;
    want(web('v2'));
    const reconciler = make();
    const pass = reconciler.reconcile('web', signal);
    for (let step = 0; services.jobs.live.size === 0 && step < 1_000; step++) await clock.advance(100);
    const madeAt = clock.now();
    want(web('v3'));
    let ended = false;
    void pass.then(() => (ended = true));
    for (let step = 0; !ended && step < 100; step++) await clock.advance(100);
    assert.ok(ended && clock.now() - madeAt < 5_000, 'the pass ended well before the job');
    assert.equal((await pass).requeueAfterMs, 0, 'the next pass comes at once');
    assert.equal(services.jobs.live.size, 1, 'the v2 job runs on');

    await reconcile(reconciler);
    assert.deepEqual(
      releases().map((j) => j.labels['berth.revision']),
      [revisionOf(web('v1')), revisionOf(web('v2')), revisionOf(web('v3'))],
    );
    assert.ok(logs.some((l) => /^Waiting for the release job .* of another revision to end/.test(String(l.msg))));
    assert.equal(services.serviceOf('web')?.spec.image.includes(':v3@'), true);
    assert.equal(services.jobs.live.size, 0, 'both jobs are gone');
    assert.ok(state.get('web')?.released?.includes(revisionOf(web('v2'))), 'v2 was released all the same');
  });

  it('a failing release keeps the old revision serving, holds the new one and records its output with the secrets redacted', async () => {
    want(web('v1'));
    await reconcile(make());
    services.jobs.script = () => ({ exitCode: 3, output: `applying 0042\npassword is ${SECRET}\n` });
    want(web('v2'));
    const updates = () => services.sent().filter((c) => c.startsWith('updateService')).length;
    assert.deepEqual(await reconcile(make()), { phase: 'Degraded', failed: true });
    assert.equal(updates(), 0, 'the service was never sent v2');
    assert.equal(services.serviceOf('web')?.spec.image.includes(':v1@'), true);
    assert.equal(services.runningTasks('web').length, 2, 'v1 keeps serving');
    assert.equal(services.jobs.live.size, 0, 'the failed job is removed');
    const [failed] = state.get('web')?.history ?? [];
    assert.equal(`${failed?.tag} ${failed?.outcome}`, 'v2 failed');
    assert.equal(failed?.reason, `deploy failed: the release step ${JSON.stringify(MIGRATE)} exited with code 3`);
    assert.equal(failed?.output, 'applying 0042\npassword is <redacted>');
    assert.equal(state.get('web')?.held?.revision, revisionOf(web('v2')));
    const event = events.find((e) => e.type === 'deploy.failed');
    assert.equal(JSON.stringify(event).includes(SECRET), false, 'no secret in the event');
    assert.equal(JSON.stringify(logs).includes(SECRET), false, 'no secret in the log');

    for (let pass = 0; pass < 3; pass++) await reconcile(make());
    assert.equal(releases().length, 2, 'a held revision is not released again');
    assert.match(
      state.get('web')?.message ?? '',
      /:v2 is held after it failed \(the release step .* exited with code 3\)/,
    );

    services.jobs.script = () => ({ exitCode: 0, output: '' });
    retries.add('web');
    assert.deepEqual(await reconcile(make()), { phase: 'Running', failed: false });
    assert.equal(releases().length, 3, 'berth retry releases it once more');
    assert.equal(services.serviceOf('web')?.spec.image.includes(':v2@'), true);
  });

  it('a release that outlives its timeout fails, and its job is removed (its task stopped)', async () => {
    services.jobs.script = () => ({ hang: true });
    want(web('v1', { release: { command: ['sleep', '3600'], timeout: 5 } }));
    assert.deepEqual(await reconcile(make()), { phase: 'Failed', failed: true });
    assert.equal(
      state.get('web')?.lastError,
      'deploy failed: the release step ["sleep","3600"] did not finish within 5s',
    );
    assert.equal(services.serviceOf('web'), undefined, 'no service was created');
    assert.equal(services.jobs.live.size, 0);
  });

  it('a job that could not run (its image, a node) fails the release with Swarm’s error', async () => {
    services.jobs.script = () => ({ rejected: 'No such image: 127.0.0.1:5000/team/web:v1' });
    want(web('v1'));
    await reconcile(make());
    assert.equal(
      state.get('web')?.lastError,
      `deploy failed: the release step ${JSON.stringify(MIGRATE)} could not run: No such image: 127.0.0.1:5000/team/web:v1`,
    );
  });

  it('runs the post-deploy command once after the rollout, as a job of the new revision; its failure is said and rolls nothing back', async () => {
    const postDeploy = { command: ['./warm-cache'], timeout: 30 };
    want(registryApp('v1', { postDeploy }));
    await reconcile(make());
    assert.deepEqual(sentKinds(), ['createService', 'createJob', 'removeJob'], 'after the service ran');
    assert.equal(state.get('web')?.history[0]?.postDeploy, 'succeeded');
    assert.equal(
      services.jobs.made('postdeploy')[0]?.labels['berth.revision'],
      revisionOf(registryApp('v1', { postDeploy })),
    );
    await reconcile(make());
    assert.equal(services.jobs.made('postdeploy').length, 1, 'once per rollout');

    services.jobs.script = () => ({ exitCode: 2, output: 'cache server unreachable\n' });
    want(registryApp('v2', { postDeploy }));
    assert.deepEqual(await reconcile(make()), { phase: 'Running', failed: false });
    assert.deepEqual(history(), ['v2 succeeded', 'v1 succeeded']);
    assert.equal(state.get('web')?.history[0]?.postDeploy, 'failed: exited with code 2: cache server unreachable');
    const said = events.find((e) => e.type === 'postdeploy.failed');
    assert.match(
      said?.message ?? '',
      /:v2: the post-deploy command exited with code 2: cache server unreachable; the deploy stands/,
    );
    assert.equal(said?.details?.exitCode, 2);
    assert.equal(services.serviceOf('web')?.spec.image.includes(':v2@'), true, 'nothing rolled back');
    assert.equal(services.jobs.live.size, 0);
  });

  it('a deleted manifest removes the app’s jobs with its service', async () => {
    services.jobs.runMs = 60_000;
    want(web('v1'));
    await reconcile(make());
    // A job left by a berth killed mid-release of a revision since abandoned.
    const v2 = web('v2');
    services.jobs.create(
      jobSpecFor(specOf(v2), 'release', revisionOf(v2), { command: MIGRATE, timeout: 60 }),
      new Map(),
    );
    desired.delete('web');
    await reconcile(make());
    assert.equal(services.serviceOf('web'), undefined);
    assert.equal(services.jobs.live.size, 0);
  });
});
