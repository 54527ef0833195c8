import { strict as assert } from 'node:assert';
import { setMaxListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { NewEvent } from '../../../../src/events/types.js';
import type { App } from '../../../../src/manifest/types.js';
import type { TrafficRouter } from '../../../../src/proxy/types.js';
import type { Desired } from '../../../../src/reconcile/core/desired.js';
import { Recorder } from '../../../../src/reconcile/core/recorder.js';
import { SwarmReconciler, type SwarmReconcilerDeps } from '../../../../src/reconcile/swarm/reconciler.js';
import { serviceSpecFor } from '../../../../src/reconcile/swarm/service-spec.js';
import { StateStore } from '../../../../src/state/store.js';
import { testApp } from '../../../support/apps.js';
import { FakeClock } from '../../../support/fake-clock.js';
import { FakeServices } from '../../../support/fake-services.js';
import { registryApp } from './fixtures.js';

/** A proxy that remembers each route it was given. */
class RecordingTraffic implements TrafficRouter {
  readonly routes: string[][] = [];
  current: string[] | undefined;
  async route(_app: App, endpoints: string[]): Promise<void> {
    this.routes.push(endpoints);
    this.current = endpoints;
  }
  async unroute(): Promise<void> {
    this.current = undefined;
  }
  async isRouted(_app: App, endpoints: string[]): Promise<boolean> {
    return this.current?.join() === endpoints.join();
  }
  async hasRoute(): Promise<boolean> {
    return this.current !== undefined;
  }
  async routed(): Promise<string[]> {
    return this.current ? ['web'] : [];
  }
  urls(_app: App, endpoints: string[]): string[] {
    return endpoints.map((e) => `http://${e}`);
  }
}

const REGISTRY_IMAGE = '127.0.0.1:5000/team/web';
const COMMIT = {
  sha: '3f2a1c9d0e4b5a6978c1d2e3f4a5b6c7d8e9f0a1',
  subject: 'bump web',
  author: 'ann',
  time: '2026-12-06T10:00:00Z',
};

describe('SwarmReconciler (in-memory swarm)', () => {
  let stateDir: string;
  /** The state directory of a second berth (a new one, or one on another manager). */
  let otherDir: string;
  let clock: FakeClock;
  let services: FakeServices;
  let state: StateStore;
  let desired: Map<string, Desired>;
  let events: NewEvent[];
  let retries: Set<string>;
  let logs: Record<string, unknown>[];
  let recorded: number;
  const ended = Recorder.prototype.ended;
  const signal = new AbortController().signal;
  // FakeClock's sleep leaves its abort listener on the signal: a watch's many polls add up.
  setMaxListeners(Number.POSITIVE_INFINITY, signal);

  const want = (app: App) => desired.set(app.name, { kind: 'present', app });
  const make = (extra: Partial<SwarmReconcilerDeps> = {}, registry?: string) =>
    new SwarmReconciler(
      {
        services,
        clock,
        logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
        state,
        desired: (name) => desired.get(name) ?? { kind: 'absent' },
        events: { emit: (event) => void events.push(event) },
        retries: { take: async (name) => retries.delete(name) },
        ...extra,
      },
      { namespace: 'dokku', stopTimeoutSeconds: 10, pollMs: 100, ...(registry ? { registry } : {}) },
    );
  /** Runs the clock until `work` settles (the reconciler sleeps between looks at a rollout). */
  const drive = async <T>(work: Promise<T>): Promise<T> => {
    let settled = false;
    work.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let step = 0; !settled && step < 100_000; step++) await clock.advance(100);
    return work;
  };
  const reconcile = (reconciler: SwarmReconciler) => drive(reconciler.reconcile('web', signal));
  const history = () => state.get('web')?.history.map((h) => `${h.tag} ${h.outcome}`);

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'berth-swarm-state-'));
    otherDir = await mkdtemp(join(tmpdir(), 'berth-swarm-other-state-'));
    clock = new FakeClock();
    services = new FakeServices(clock);
    state = await StateStore.open(stateDir, 'dokku');
    desired = new Map();
    events = [];
    retries = new Set();
    logs = [];
    recorded = 0;
    Recorder.prototype.ended = function (this: Recorder, ...args: Parameters<Recorder['ended']>) {
      recorded++;
      ended.apply(this, args);
    };
    for (const tag of ['v1', 'v2', 'v3', 'bad']) services.inRegistry(`${REGISTRY_IMAGE}:${tag}`);
  });
  afterEach(async () => {
    Recorder.prototype.ended = ended;
    await state.flush();
    await rm(stateDir, { recursive: true, force: true });
    await rm(otherDir, { recursive: true, force: true });
  });

  it('creates the service, runs it to Running and records once; a second pass sends nothing and the host view finds it in sync', async () => {
    const reconciler = make();
    want(registryApp('v1'));
    const result = await reconcile(reconciler);
    assert.deepEqual(result, { phase: 'Running', failed: false });
    assert.deepEqual(services.sent(), ['createService dokku_web']);
    assert.equal(services.runningTasks('web').length, 2);
    assert.equal(recorded, 1, 'one record per reconcile');
    assert.deepEqual(
      [state.get('web')?.phase, state.get('web')?.message],
      ['Running', `2 × ${REGISTRY_IMAGE}:v1 running`],
    );
    assert.deepEqual(history(), ['v1 succeeded']);
    assert.equal(
      state.get('web')?.servingRevision?.endsWith(`@${services.serviceOf('web')?.spec.image.split('@')[1]}`),
      true,
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ['deploy.started', 'deploy.succeeded'],
    );

    const before = services.sent().length;
    assert.deepEqual(await reconcile(reconciler), { phase: 'Running', failed: false });
    assert.equal(services.sent().length, before, 'nothing sent while in sync');
    assert.equal(await (await reconciler.observeHost()).isInSync('web'), true);
  });

  it('an update Swarm rolls back is a failed deploy, and its revision is held across the next passes until the tag changes', async () => {
    const reconciler = make();
    want(registryApp('v1'));
    await reconcile(reconciler);
    services.unhealthy.add(services.inRegistry(`${REGISTRY_IMAGE}:bad`));
    want(registryApp('bad'));
    recorded = 0;
    const failed = await reconcile(reconciler);
    assert.deepEqual(failed, { phase: 'Degraded', failed: true });
    assert.equal(recorded, 1);
    assert.deepEqual(history(), ['bad failed', 'v1 succeeded'], 'a rollback is a failed deploy, never a success');
    const record = state.get('web');
    assert.match(
      record?.message ?? '',
      /^deploy failed: Swarm rolled back the update: update rolled back due to failure or early termination of task \w{25}; task dokku_web\.\d: task: non-zero exit \(1\): unhealthy container$/,
    );
    assert.match(record?.lastError ?? '', /rolled back/);
    assert.equal(record?.held?.reason.startsWith('Swarm rolled back the update'), true);
    const failure = events.find((e) => e.type === 'deploy.failed');
    assert.match(failure?.message ?? '', /:bad: deploy failed: Swarm rolled back the update/);
    assert.equal(services.serviceOf('web')?.spec.image.includes(':v1@'), true, 'Swarm went back to v1');
    const sent0 = services.sent().length;

    // The next pass keeps the hold on the service too (its labels: no task moves), then passes send nothing.
    // Written once Swarm has finished rolling back (the backoff is over by then): a write would restart a rollback.
    assert.equal((await reconcile(reconciler)).phase, 'Degraded');
    assert.equal(services.sent().length, sent0, 'nothing written while Swarm rolls back');
    await clock.advance(2_000);
    const { id, version } = services.serviceOf('web') ?? {};
    assert.deepEqual(await reconcile(reconciler), { phase: 'Degraded', failed: false });
    assert.deepEqual(services.sent().slice(-1), [`labelService ${id} ${version}`]);
    assert.equal(services.serviceOf('web')?.spec.labels['berth.held-revision'], record?.held?.revision);
    assert.equal(services.serviceOf('web')?.spec.image.includes(':v1@'), true, 'v1 still serves');
    const sent = services.sent().length;
    for (let pass = 0; pass < 3; pass++) {
      await clock.advance(60_000);
      assert.deepEqual(await reconcile(reconciler), { phase: 'Degraded', failed: false });
    }
    assert.equal(services.sent().length, sent, 'the held revision was not sent again');
    assert.match(
      state.get('web')?.message ?? '',
      new RegExp(
        `^${REGISTRY_IMAGE}:bad is held after it failed \\(Swarm rolled back the update: .*\\); the previous revision keeps serving until the manifest changes or \`berth retry web\`$`,
      ),
    );
    assert.equal(await (await reconciler.observeHost()).isInSync('web'), true);

    want(registryApp('v2'));
    assert.deepEqual(await reconcile(reconciler), { phase: 'Running', failed: false, requeueAfterMs: 0 });
    assert.deepEqual(history(), ['v2 succeeded', 'bad failed', 'v1 succeeded']);
    assert.equal(state.get('web')?.held, undefined, 'a deploy that went live clears the hold');
    assert.equal(services.serviceOf('web')?.spec.labels['berth.held-revision'], undefined, 'and so does the spec sent');
  });

  it('berth retry sends the held revision once more; a deleted manifest removes a held app at once', async () => {
    const reconciler = make();
    want(registryApp('v1'));
    await reconcile(reconciler);
    const bad = services.inRegistry(`${REGISTRY_IMAGE}:bad`);
    services.unhealthy.add(bad);
    want(registryApp('bad'));
    await reconcile(reconciler);
    const updates = () => services.sent().filter((c) => c.startsWith('updateService')).length;
    const before = updates();
    await reconcile(reconciler);
    assert.equal(updates(), before, 'held');

    retries.add('web');
    assert.equal((await reconcile(reconciler)).failed, true);
    assert.equal(updates(), before + 1, 'berth retry sent it again');
    assert.deepEqual(history(), ['bad failed', 'bad failed', 'v1 succeeded']);
    assert.ok(state.get('web')?.held, 'held again after it failed again');

    desired.delete('web');
    assert.deepEqual(await reconcile(reconciler), { phase: 'Running', failed: false, gone: true });
    assert.equal(services.serviceOf('web'), undefined, 'the service is removed, hold or not');
    assert.equal(state.get('web'), undefined);
  });

  it('past deploy.progressDeadline berth has Swarm roll the update back, and records and holds it as failed', async () => {
    const reconciler = make();
    const app = (tag: string) => registryApp(tag, { deploy: { progressDeadline: 5 } });
    want(app('v1'));
    await reconcile(reconciler);
    services.stuck.add(services.inRegistry(`${REGISTRY_IMAGE}:bad`));
    want(app('bad'));
    const result = await reconcile(reconciler);
    assert.deepEqual(result, { phase: 'Degraded', failed: true });
    assert.equal(services.sent().filter((c) => c.startsWith('rollbackService')).length, 1);
    assert.equal(
      state.get('web')?.message,
      'deploy failed: the update did not complete within deploy.progressDeadline; berth asked Swarm to roll it back',
    );
    assert.deepEqual(history(), ['bad failed', 'v1 succeeded']);
    const failed = logs.find((l) => l.result === 'failed');
    assert.match(
      String(failed?.msg),
      /^web: deploy failed: the update did not complete within deploy\.progressDeadline; berth asked Swarm to roll it back/,
    );
    assert.ok(state.get('web')?.held);
  });

  it('says deploy.started, deploy.succeeded and deploy.failed to the events sink with the commit, and logs the commit', async () => {
    const reconciler = make();
    const fromGit = (tag: string): App => ({ ...registryApp(tag), origin: { commit: COMMIT } });
    want(fromGit('v1'));
    await reconcile(reconciler);
    services.unhealthy.add(services.inRegistry(`${REGISTRY_IMAGE}:bad`));
    want(fromGit('bad'));
    await reconcile(reconciler);
    assert.deepEqual(
      events.map((e) => [e.type, (e.details?.commit as { sha?: string } | undefined)?.sha]),
      [
        ['deploy.started', COMMIT.sha],
        ['deploy.succeeded', COMMIT.sha],
        ['deploy.started', COMMIT.sha],
        ['deploy.failed', COMMIT.sha],
      ],
    );
    assert.match(events[1]?.message ?? '', /deployed in .* from 3f2a1c9 'bump web'$/);
    const deploying = logs.filter((l) => l.step === 'deploy' && l.result === undefined);
    assert.deepEqual(
      deploying.map((l) => [l.commit, l.msg]),
      [
        [COMMIT.sha, `Deploying web (${REGISTRY_IMAGE}:v1) from 3f2a1c9 'bump web' as service dokku_web...`],
        [COMMIT.sha, `Deploying web (${REGISTRY_IMAGE}:bad) from 3f2a1c9 'bump web' as service dokku_web...`],
      ],
    );
    assert.equal(logs.find((l) => l.step === 'deployed')?.commit, COMMIT.sha);
  });

  it('pushes an image only this host has to --swarm-registry and deploys the pushed pin in the same pass, without recursion', async () => {
    const reconciler = make({}, '127.0.0.1:5000');
    services.onHostOnly('dokku/web:v1');
    want(testApp('web', { tag: 'v1', replicas: 1 }));
    const result = await reconcile(reconciler);
    assert.deepEqual(result, { phase: 'Running', failed: false });
    assert.deepEqual(services.sent(), [
      'pushImage dokku/web:v1 127.0.0.1:5000/dokku/web:v1',
      'createService dokku_web',
    ]);
    assert.match(services.serviceOf('web')?.spec.image ?? '', /^127\.0\.0\.1:5000\/dokku\/web:v1@sha256:[0-9a-f]{64}$/);
    assert.equal(recorded, 1, 'one record for the push and the deploy');
    assert.deepEqual(history(), ['v1 succeeded']);
    assert.equal(logs.filter((l) => l.step === 'push').length, 1);

    await reconcile(reconciler);
    assert.equal(services.sent().length, 2, 'pushed once: the registry has these bytes now');
  });

  it('makes Docker secrets before the service that mounts them, keeps the previous ones for a rollback, and removes them all with the app', async () => {
    const reconciler = make();
    const app = (digest: string) =>
      registryApp('v1', {
        envFrom: [{ file: 'web.env.age', at: { file: 'web.yaml', line: 1, col: 1 } }],
        resolved: {
          env: {},
          files: [{ target: '/run/secrets/db', content: Buffer.from(digest) }],
          digest: digest.repeat(32),
        },
      });
    const names = () => [...services.secrets.keys()].sort();
    const nameOf = (digest: string) => `dokku_web_${digest.repeat(12)}_0`;
    want(app('a'));
    await reconcile(reconciler);
    assert.deepEqual(services.sent(), [`createSecret ${nameOf('a')}`, 'createService dokku_web']);
    for (const digest of ['b', 'c']) {
      want(app(digest));
      assert.equal((await reconcile(reconciler)).phase, 'Running');
    }
    assert.deepEqual(names(), [nameOf('b'), nameOf('c')], 'the current and previous secrets alone');
    assert.equal(recorded, 3);

    desired.delete('web');
    await reconcile(reconciler);
    assert.deepEqual([services.serviceOf('web'), names()], [undefined, []]);
  });

  it('behind a proxy, routes to the new tasks as they start, before Swarm stops an old one, then to the running tasks alone', async () => {
    const traffic = new RecordingTraffic();
    const reconciler = make({ traffic });
    want(registryApp('v1'));
    await reconcile(reconciler);
    const v1 = traffic.current ?? [];
    assert.equal(v1.length, 2);

    want(registryApp('v2'));
    await reconcile(reconciler);
    const v2 = traffic.current ?? [];
    assert.equal(v2.length, 2);
    assert.equal(
      v2.some((e) => v1.includes(e)),
      false,
      'the proxy ends on the new tasks alone',
    );
    assert.ok(
      traffic.routes.some((r) => v1.every((e) => r.includes(e)) && v2.every((e) => r.includes(e))),
      'the proxy knew the new tasks while the old ones still served',
    );
    const routes = traffic.routes.length;
    await reconcile(reconciler);
    assert.equal(traffic.routes.length, routes, 'in sync: the proxy is left alone');
  });

  it('watches a rollout Swarm runs already (berth restarted mid-rollout) to its end, sending nothing', async () => {
    const reconciler = make();
    want(registryApp('v1'));
    await reconcile(reconciler);
    // A berth that sent v2 and was killed: Swarm is rolling it out.
    const spec = services.serviceOf('web');
    const v2 = serviceSpecFor(
      'dokku',
      registryApp('v2'),
      { ref: services.inRegistry(`${REGISTRY_IMAGE}:v2`), pinned: true },
      1,
      10,
    );
    assert.ok(spec && 'spec' in v2);
    await services.updateService(spec.id, spec.version, v2.spec);
    want(registryApp('v2'));
    const sent = services.sent().length;
    assert.deepEqual(await reconcile(reconciler), { phase: 'Running', failed: false, requeueAfterMs: 0 });
    assert.deepEqual(services.sent().slice(sent), [], 'nothing sent');
    assert.ok(logs.some((l) => /^Swarm is rolling out web already; watching it$/.test(String(l.msg))));
    assert.deepEqual(history(), ['v2 succeeded', 'v1 succeeded']);
  });

  it('scales with a plain update: no new revision, no history entry', async () => {
    const reconciler = make();
    want(registryApp('v1'));
    await reconcile(reconciler);
    want(registryApp('v1', { replicas: 3 }));
    assert.deepEqual(await reconcile(reconciler), { phase: 'Running', failed: false });
    assert.equal(services.runningTasks('web').length, 3);
    assert.deepEqual(history(), ['v1 succeeded']);
    assert.equal(state.get('web')?.message, `3 × ${REGISTRY_IMAGE}:v1 running`);
  });

  it('previews on a host view what a pass would do, in steps, a diff and notes, sending nothing', async () => {
    const reconciler = make();
    want(registryApp('v1'));
    await reconcile(reconciler);
    want(registryApp('v2'));
    const sent = services.sent().length;
    const preview = await reconciler.preview('web', await reconciler.observeHost());
    assert.equal(preview.plan.rollout?.tag, 'v2');
    assert.deepEqual(
      preview.steps.map((s) => `${s.symbol} ${s.text.split('@')[0]}`),
      [`~ update service dokku_web to ${REGISTRY_IMAGE}:v2`],
    );
    assert.deepEqual(
      preview.diff.map((d) => `${d.change} ${d.field}`),
      ['~ image'],
    );
    assert.deepEqual(preview.notes, [
      '… once Swarm completes it, the new tasks are watched for deploy.monitor (60s): one that ends rolls the service back',
    ]);
    assert.equal(services.sent().length, sent, 'a preview sends nothing');
    assert.equal(state.get('web')?.message, `2 × ${REGISTRY_IMAGE}:v1 running`, 'nor records anything');
  });
  describe('deploy.monitor: the new tasks watched once Swarm completed the update', () => {
    const app = (tag: string) => registryApp(tag, { deploy: { monitor: 30 } });

    it('a revision whose tasks crash after the rollout is rolled back within deploy.monitor, recorded rolled_back, held and kept on the service; berth retry sends it again', async () => {
      const reconciler = make();
      want(app('v1'));
      await reconcile(reconciler);
      services.crashing.set(services.inRegistry(`${REGISTRY_IMAGE}:crash`), 5_000);
      want(app('crash'));
      assert.deepEqual(await reconcile(reconciler), { phase: 'Running', failed: false, requeueAfterMs: 0 });
      assert.deepEqual(history(), ['crash succeeded', 'v1 succeeded'], 'Swarm completed it: a success, for now');

      // The pass the deploy asked for at once: it watches the new tasks, and one of them crashes 5 s in.
      const begin = clock.now();
      const sent = services.sent().length;
      assert.deepEqual(await reconcile(reconciler), { phase: 'Degraded', failed: false, requeueAfterMs: 0 });
      assert.ok(clock.now() - begin < 30_000, `rolled back within deploy.monitor (after ${clock.now() - begin} ms)`);
      assert.deepEqual(
        services
          .sent()
          .slice(sent)
          .map((c) => c.split(' ')[0]),
        ['rollbackService'],
      );
      assert.deepEqual(history(), ['crash rolled_back', 'crash succeeded', 'v1 succeeded']);
      const record = state.get('web');
      assert.match(
        record?.message ?? '',
        /^rolled back: task dokku_web\.\d ended \(failed: task: non-zero exit \(1\)\) within deploy\.monitor \(30s\) after Swarm completed the update$/,
      );
      assert.equal(record?.held?.revision, record?.history[0]?.revision, 'the revision is held');
      assert.ok(record?.held?.serviceHash, 'with the spec that failed');
      assert.equal(services.serviceOf('web')?.spec.image.includes(':v1@'), true, 'Swarm went back to v1');
      assert.equal(services.runningTasks('web').length, 2);
      const rolledBack = events.find((e) => e.type === 'deploy.rolled_back');
      assert.match(rolledBack?.message ?? '', /:crash rolled back: task dokku_web/);

      // The pass after keeps the hold on the service; then nothing is sent, however often berth looks.
      await reconcile(reconciler);
      assert.deepEqual(
        services
          .sent()
          .slice(sent + 1)
          .map((c) => c.split(' ')[0]),
        ['labelService'],
      );
      const held = services.sent().length;
      for (let pass = 0; pass < 3; pass++) {
        await clock.advance(60_000);
        assert.equal((await reconcile(reconciler)).phase, 'Degraded');
      }
      assert.equal(services.sent().length, held, 'the held revision was not sent again');
      assert.equal(await (await reconciler.observeHost()).isInSync('web'), true);

      retries.add('web');
      await reconcile(reconciler);
      assert.deepEqual(
        services
          .sent()
          .slice(held)
          .map((c) => c.split(' ')[0]),
        ['updateService'],
        'berth retry sent it again',
      );
    });

    it('a rollout that stays healthy through the window is left alone, and the window is judged from Swarm, not from this berth', async () => {
      const reconciler = make();
      want(app('v1'));
      await reconcile(reconciler);
      want(app('v2'));
      await reconcile(reconciler);
      const sent = services.sent().length;
      // A berth started anew (or on another manager) 10 s into the window watches the rest of it.
      await clock.advance(10_000);
      const other = make({ state: await StateStore.open(otherDir, 'dokku') });
      const begin = clock.now();
      // Two passes: one looks for a slice of the window (its worker then free for other apps), the next looks on.
      assert.deepEqual(await reconcile(other), { phase: 'Running', failed: false, requeueAfterMs: 0 });
      assert.deepEqual(await reconcile(other), { phase: 'Running', failed: false });
      assert.ok(clock.now() - begin >= 19_000 && clock.now() - begin < 22_000, `watched ${clock.now() - begin} ms`);
      assert.ok(logs.some((l) => l.step === 'monitor' && l.result === 'passed'));
      assert.deepEqual(await reconcile(other), { phase: 'Running', failed: false }, 'the window is over');
      assert.equal(services.sent().length, sent, 'nothing sent');
    });

    it('a manifest edit while the new tasks are watched ends the watch at once; the next pass sends the new tag', async () => {
      const reconciler = make();
      want(app('v1'));
      await reconcile(reconciler);
      want(app('v2'));
      await reconcile(reconciler);
      const watching = reconciler.reconcile('web', signal);
      await clock.advance(3_000);
      want(app('v3'));
      const edited = clock.now();
      assert.deepEqual(await drive(watching), { phase: 'Running', failed: false, requeueAfterMs: 0 });
      assert.ok(clock.now() - edited <= 1_000, `the watch ended ${clock.now() - edited} ms after the edit`);
      assert.ok(logs.some((l) => l.result === 'superseded' && /the manifest changed/.test(String(l.msg))));
      await reconcile(reconciler);
      assert.deepEqual(history(), ['v3 succeeded', 'v2 succeeded', 'v1 succeeded']);
    });
  });

  it('a manifest deleted while a rollout is watched (it would take minutes) removes the service within seconds', async () => {
    const reconciler = make();
    want(registryApp('v1'));
    await reconcile(reconciler);
    services.stuck.add(services.inRegistry(`${REGISTRY_IMAGE}:bad`));
    want(registryApp('bad'));
    const rolling = reconciler.reconcile('web', signal);
    await clock.advance(5_000);
    desired.delete('web');
    const deleted = clock.now();
    assert.deepEqual(await drive(rolling), { phase: 'Deploying', failed: false, requeueAfterMs: 0 });
    assert.ok(clock.now() - deleted <= 1_000, `the watch ended ${clock.now() - deleted} ms after the deletion`);
    assert.deepEqual(history(), ['v1 succeeded'], 'nothing judged of the rollout left');
    assert.deepEqual(await reconcile(reconciler), { phase: 'Running', failed: false, gone: true });
    assert.equal(services.serviceOf('web'), undefined);
    assert.ok(clock.now() - deleted < 5_000);
  });

  describe('a berth with an empty state directory (restarted, or on another manager)', () => {
    it('sends nothing to a service that runs its manifest revision; its history starts there, and it says so', async () => {
      want(registryApp('v1'));
      await reconcile(make());
      const sent = services.sent().length;
      const fresh = await StateStore.open(otherDir, 'dokku');
      const other = make({ state: fresh });
      assert.equal(await (await other.observeHost()).isInSync('web'), false, 'no record yet: a pass records it');
      assert.deepEqual(await reconcile(other), { phase: 'Running', failed: false });
      assert.equal(services.sent().length, sent, 'nothing sent');
      assert.ok(
        logs.some((l) => l.step === 'adopt' && /history starts here: this berth has no record/.test(String(l.msg))),
      );
      const record = fresh.get('web');
      assert.deepEqual(
        [record?.phase, record?.servingRevision, record?.servingTag, record?.history.length],
        ['Running', state.get('web')?.servingRevision, 'v1', 0],
      );
      assert.equal(await (await other.observeHost()).isInSync('web'), true);
    });

    it('finds the hold on the service and sends nothing; berth retry sends it again', async () => {
      const first = make();
      want(registryApp('v1'));
      await reconcile(first);
      services.unhealthy.add(services.inRegistry(`${REGISTRY_IMAGE}:bad`));
      want(registryApp('bad'));
      await reconcile(first);
      await clock.advance(2_000);
      await reconcile(first);
      assert.ok(services.serviceOf('web')?.spec.labels['berth.held-revision'], 'the hold is on the service');
      const sent = services.sent().length;

      const fresh = await StateStore.open(otherDir, 'dokku');
      const other = make({ state: fresh });
      assert.equal((await reconcile(other)).phase, 'Degraded');
      assert.equal(services.sent().length, sent, 'the held revision was not sent');
      assert.equal(fresh.get('web')?.held?.revision, state.get('web')?.held?.revision, 'berth records the hold too');
      assert.match(fresh.get('web')?.message ?? '', /web:bad is held after it failed/);
      assert.equal(await (await other.observeHost()).isInSync('web'), true, 'and a resync finds it in sync');

      retries.add('web');
      await reconcile(other);
      assert.deepEqual(
        services
          .sent()
          .slice(sent)
          .map((c) => c.split(' ')[0]),
        ['updateService'],
        'berth retry sent it again',
      );
    });
  });
});
