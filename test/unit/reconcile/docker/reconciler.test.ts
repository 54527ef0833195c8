import { strict as assert } from 'node:assert';
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from '../../../../src/manifest/types.js';
import type { HostView } from '../../../../src/reconcile/core/reconciler.js';
import type { Desired } from '../../../../src/reconcile/docker/actions.js';
import { Reconciler } from '../../../../src/reconcile/docker/reconciler.js';
import { directTraffic } from '../../../../src/proxy/direct.js';
import { StateStore } from '../../../../src/state/store.js';
import { silentLogger } from '../../../../src/util/silent-logger.js';
import { testApp } from '../../../support/apps.js';
import { FakeClock } from '../../../support/fake-clock.js';
import { FakeRuntime } from '../../../support/fake-runtime.js';

describe('Reconciler (in-memory runtime)', () => {
  let stateDir: string;
  let clock: FakeClock;
  let runtime: FakeRuntime;
  let state: StateStore;
  let desired: Map<string, Desired>;
  let reconciler: Reconciler;
  const signal = new AbortController().signal;

  const quick = (tag: string, overrides = {}): App =>
    testApp('web', { tag, checks: { wait: 0 }, deploy: { retireAfter: 30 }, ...overrides });
  const want = (app: App) => desired.set(app.name, { kind: 'present', app });
  let stores: StateStore[] = [];
  const make = (store: StateStore, secretsRoot?: string) => (
    stores.push(store),
    new Reconciler(
      {
        runtime,
        clock,
        logger: silentLogger(),
        state: store,
        traffic: directTraffic,
        desired: (name) => desired.get(name) ?? { kind: 'absent' },
      },
      {
        namespace: 'dokku',
        proxy: false,
        stopTimeoutSeconds: 1,
        keepRevisions: 2,
        ...(secretsRoot !== undefined ? { secretsRoot } : {}),
      },
    )
  );

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'berth-state-'));
    clock = new FakeClock();
    runtime = new FakeRuntime(clock);
    state = await StateStore.open(stateDir, 'dokku');
    desired = new Map();
    reconciler = make(state);
  });
  afterEach(async () => {
    await Promise.all(stores.map((s) => s.flush()));
    stores = [];
    await rm(stateDir, { recursive: true, force: true });
  });

  it('deploys, rolls out a tag edit beside the old container, retires it after retireAfter, and rolls back', async () => {
    const v1 = runtime.addImage('dokku/web:v1');
    const v2 = runtime.addImage('dokku/web:v2');
    want(quick('v1'));
    assert.equal((await reconciler.reconcile('web', signal)).phase, 'Running');
    assert.deepEqual(
      runtime.running('web').map((c) => c.imageId),
      [v1],
    );
    assert.equal(runtime.tags.get('dokku/web:latest'), v1);

    want(quick('v2'));
    const result = await reconciler.reconcile('web', signal);
    assert.equal(result.requeueAfterMs, 30_000);
    assert.deepEqual(
      runtime
        .running('web')
        .map((c) => c.imageId)
        .sort(),
      [v1, v2].sort(),
      'old keeps serving until retired',
    );
    assert.equal(runtime.tags.get('dokku/web:latest'), v2);
    assert.equal(runtime.tags.get('dokku/web:previous'), v1);

    await clock.advance(30_000);
    await reconciler.reconcile('web', signal);
    assert.deepEqual(
      runtime.running('web').map((c) => c.imageId),
      [v2],
    );

    want(quick('v1'));
    await reconciler.reconcile('web', signal);
    await clock.advance(30_000);
    await reconciler.reconcile('web', signal);
    assert.deepEqual(
      runtime.running('web').map((c) => c.imageId),
      [v1],
    );
    assert.deepEqual(
      state.get('web')?.history.map((h) => [h.tag, h.outcome]),
      [
        ['v1', 'succeeded'],
        ['v2', 'succeeded'],
        ['v1', 'succeeded'],
      ],
    );
  });

  it('a failed check removes the new container, keeps the old one serving, and reports Degraded with the reason', async () => {
    const v1 = runtime.addImage('dokku/web:v1');
    const broken = runtime.addImage('dokku/web:v2');
    runtime.crashing.add(broken);
    want(quick('v1'));
    await reconciler.reconcile('web', signal);

    want(quick('v2'));
    const result = await reconciler.reconcile('web', signal);
    assert.equal(result.failed, true);
    assert.equal(result.phase, 'Degraded');
    assert.deepEqual(
      runtime.running('web').map((c) => c.imageId),
      [v1],
    );
    assert.equal(
      [...runtime.containers.values()].filter((c) => c.imageId === broken).length,
      0,
      'the failed container is removed',
    );
    assert.match(state.get('web')?.lastError ?? '', /exited|exit code 1/);
    assert.equal(runtime.tags.get('dokku/web:latest'), v1, 'latest is not moved by a failed deploy');
    assert.equal(state.get('web')?.history[0]?.outcome, 'failed');
  });

  it('shutting down mid-check abandons the rollout: the new container is removed, the old one keeps serving', async () => {
    const v1 = runtime.addImage('dokku/web:v1');
    runtime.addImage('dokku/web:v2');
    want(quick('v1'));
    await reconciler.reconcile('web', signal);
    want(quick('v2', { checks: { wait: 30 } }));
    const shutdown = new AbortController();
    const rollout = reconciler.reconcile('web', shutdown.signal);
    await eventuallyTrue(() => runtime.running('web').length === 2);
    shutdown.abort(new Error('SIGTERM'));
    await assert.rejects(rollout);
    assert.deepEqual(
      runtime.running('web').map((c) => c.imageId),
      [v1],
    );
    assert.equal(
      [...runtime.containers.values()].filter((c) => c.app === 'web').length,
      1,
      'the new container is gone, not left behind',
    );
    assert.equal(state.get('web')?.servingTag, 'v1');
  });

  it('adopts matching containers after a restart without touching them', async () => {
    runtime.addImage('dokku/web:v1');
    want(quick('v1', { replicas: 2 }));
    await reconciler.reconcile('web', signal);
    await state.flush();
    const before = runtime
      .running('web')
      .map((c) => c.id)
      .sort();

    const restarted = make(await StateStore.open(stateDir, 'dokku'));
    runtime.calls.length = 0;
    await restarted.reconcile('web', signal);
    assert.deepEqual(
      runtime
        .running('web')
        .map((c) => c.id)
        .sort(),
      before,
    );
    assert.deepEqual(
      runtime.calls.filter((c) => !/^(listContainers|listImages|inspect)/.test(c)),
      [],
      'no create, stop or remove',
    );
  });

  it('adopts matching containers even when its state is lost: checks again, restarts nothing', async () => {
    runtime.addImage('dokku/web:v1');
    want(quick('v1'));
    await reconciler.reconcile('web', signal);
    const before = runtime.running('web').map((c) => c.id);

    await state.flush();
    await rm(stateDir, { recursive: true, force: true });
    const restarted = make(await StateStore.open(stateDir, 'dokku'));
    runtime.calls.length = 0;
    assert.equal((await restarted.reconcile('web', signal)).phase, 'Running');
    assert.deepEqual(
      runtime.running('web').map((c) => c.id),
      before,
    );
    assert.deepEqual(
      runtime.calls.filter((c) => /^(create|stop|remove|start)/.test(c)),
      [],
    );
  });

  it('leaves an app Pending until its image appears, then deploys it', async () => {
    want(quick('v9'));
    assert.equal((await reconciler.reconcile('web', signal)).phase, 'Pending');
    assert.equal(runtime.running().length, 0);
    runtime.addImage('dokku/web:v9');
    assert.equal((await reconciler.reconcile('web', signal)).phase, 'Running');
    assert.equal(runtime.running('web').length, 1);
  });

  it('pulls an image named in another repository, mirrors its tag, and reports pull failures as Pending', async () => {
    const remote = quick('v3', { image: '127.0.0.1:5000/team/web' });
    want(remote);
    const failed = await reconciler.reconcile('web', signal);
    assert.equal(failed.phase, 'Pending');
    assert.equal(failed.failed, true);
    assert.match(state.get('web')?.lastError ?? '', /manifest unknown/);

    runtime.registry.set('127.0.0.1:5000/team/web:v3', `sha256:${'f'.repeat(64)}`);
    assert.equal((await reconciler.reconcile('web', signal)).phase, 'Running');
    assert.equal(runtime.tags.get('dokku/web:v3'), `sha256:${'f'.repeat(64)}`);
  });

  it('keeps what it pulled tagged for the last --keep-revisions deploys, untags older pulls, never the tags it did not make', async () => {
    const registry = '127.0.0.1:5000/team/web';
    const ids = ['a', 'b', 'c'].map((c) => `sha256:${c.repeat(64)}`);
    ['v1', 'v2', 'v3'].forEach((tag, i) => {
      runtime.registry.set(`${registry}:${tag}`, ids[i]!);
    });
    const own = runtime.addImage('dokku/web:hand-made', ids[0]);
    const deploy = async (tag: string) => {
      want(quick(tag, { image: registry, deploy: { retireAfter: 0 } }));
      assert.equal((await reconciler.reconcile('web', signal)).phase, 'Running');
    };
    await deploy('v1');
    await deploy('v2');
    assert.ok(
      runtime.tags.has(`${registry}:v1`) && runtime.tags.has('dokku/web:v1'),
      'two deploys fit in keepRevisions 2',
    );

    await deploy('v3');
    assert.equal(runtime.tags.has(`${registry}:v1`), false, 'the pull of v1 is released');
    assert.equal(runtime.tags.has('dokku/web:v1'), false, 'and its mirror');
    assert.ok(runtime.tags.has(`${registry}:v2`) && runtime.tags.has('dokku/web:v2'), 'v2 is kept for a rollback');
    assert.equal(runtime.tags.get('dokku/web:hand-made'), own, 'a tag berth did not make stays');
    assert.deepEqual(state.get('web')?.ownedTags?.sort(), [
      `${registry}:v2`,
      `${registry}:v3`,
      'dokku/web:v2',
      'dokku/web:v3',
    ]);

    // The registry is gone, and someone removed the pulled tag: the kept mirror still rolls back without a pull.
    runtime.registry.clear();
    await runtime.untagImage(`${registry}:v2`);
    runtime.calls.length = 0;
    await deploy('v2');
    assert.deepEqual(
      runtime.running('web').map((c) => c.imageId),
      [ids[1]],
    );
    assert.equal(runtime.calls.filter((c) => c.startsWith('pull')).length, 0, 'no pull for a kept revision');
  });

  it('does not let a mirror from another repository stand in for a missing pull', async () => {
    runtime.registry.set('127.0.0.1:5000/team/web:v1', `sha256:${'a'.repeat(64)}`);
    want(quick('v1', { image: '127.0.0.1:5000/team/web' }));
    await reconciler.reconcile('web', signal);
    want(quick('v1', { image: '127.0.0.1:5000/other/web' }));
    const result = await reconciler.reconcile('web', signal);
    assert.equal(result.phase, 'Pending', 'dokku/web:v1 came from team/web, not other/web: pull it');
    assert.ok(runtime.calls.includes('pull 127.0.0.1:5000/other/web:v1'));
  });

  it('removes the containers of a deleted manifest and forgets the app; never touches unmanaged containers', async () => {
    runtime.addImage('dokku/web:v1');
    const foreign = runtime.addForeignContainer('hand-made', { 'berth.app': 'web', 'berth.namespace': 'dokku' });
    want(quick('v1'));
    await reconciler.reconcile('web', signal);
    desired.delete('web');
    const result = await reconciler.reconcile('web', signal);
    assert.equal(result.gone, true);
    assert.deepEqual(
      runtime.running('web').map((c) => c.id),
      [foreign],
      'only the unmanaged container is left',
    );
    assert.equal(state.get('web'), undefined);
    assert.equal(runtime.containers.get(foreign)?.state, 'running');
  });

  it('holds removal when told to, reporting why', async () => {
    runtime.addImage('dokku/web:v1');
    want(quick('v1'));
    await reconciler.reconcile('web', signal);
    desired.set('web', {
      kind: 'absent',
      hold: 'the manifest directory is empty; nothing is removed without --allow-empty',
    });
    await reconciler.reconcile('web', signal);
    assert.equal(runtime.running('web').length, 1);
    assert.match(state.get('web')?.message ?? '', /--allow-empty/);
  });

  describe('preview: what a reconcile would do, told without doing it', () => {
    const changes = /^(create|start|stop|remove|pull|untag)/;

    it('tells the plan, diff, steps and when old containers retire, from the host view it is given', async () => {
      runtime.addImage('dokku/web:v1');
      runtime.addImage('dokku/web:v2');
      want(quick('v1', { env: { MODE: 'blue' } }));
      await reconciler.reconcile('web', signal);
      want(quick('v2', { env: { MODE: 'green', LEVEL: '3' } }));
      const host = await reconciler.observeHost();
      runtime.calls.length = 0;
      const before = runtime.running('web').map((c) => c.id);

      const preview = await reconciler.preview('web', host);
      const rollout = preview.plan.rollout;
      assert.equal(rollout?.tag, 'v2');
      const created = /^create (dokku\.web\.[0-9a-f]{10}\.0) /.exec(preview.steps[0]?.text ?? '')?.[1];
      assert.ok(created, 'the new container, named after its revision');
      assert.deepEqual(
        preview.steps.map((s) => `${s.symbol} ${s.text}`),
        [
          `+ create ${created} ports 127.0.0.1:*->8080/tcp env MODE,LEVEL`,
          `? check ${created}`,
          `→ switch traffic to ${rollout?.revision.split('@')[0]}`,
          '# tag dokku/web:latest (and :previous)',
        ],
      );
      assert.deepEqual(preview.notes, ['… old containers retire in 30s']);
      assert.deepEqual(
        preview.diff.filter((d) => d.field === 'env').map((d) => `${d.change} ${d.text}`),
        ['+ LEVEL', '~ MODE: (value changed)'],
      );
      assert.deepEqual(
        runtime.calls.filter((c) => c.startsWith('listContainers') || changes.test(c)),
        [],
        'no second list, no change',
      );
      assert.deepEqual(
        runtime.running('web').map((c) => c.id),
        before,
      );
    });

    it("lists the app's containers itself when the host view is not one it took", async () => {
      runtime.addImage('dokku/web:v1');
      want(quick('v1'));
      await reconciler.reconcile('web', signal);
      const elsewhere: HostView = { apps: () => ['web'], isInSync: async () => false, holds: () => false };
      runtime.calls.length = 0;
      const preview = await reconciler.preview('web', elsewhere);
      assert.ok(runtime.calls.includes('listContainers web'));
      assert.deepEqual(preview.steps, [], 'in sync: nothing to do');
      assert.deepEqual(preview.diff, []);
      assert.equal(preview.plan.outcome.phase, 'Running');
    });
  });

  describe('decrypted secret files', () => {
    let secretsRoot: string;
    const digest = (c: string) => c.repeat(64);
    const [D0, D1, D2] = [digest('0'), digest('1'), digest('2')];
    const withSecrets = (tag: string, d: string, overrides = {}) =>
      quick(tag, {
        resolved: {
          env: {},
          files: [{ target: '/run/secrets/db', content: Buffer.from('s3cret') }],
          digest: d,
          root: join(secretsRoot, 'web'),
        },
        ...overrides,
      });
    const onDisk = () => readdir(join(secretsRoot, 'web')).then((entries) => entries.sort());

    beforeEach(async () => {
      secretsRoot = await mkdtemp(join(tmpdir(), 'berth-secrets-'));
      reconciler = make(state, secretsRoot);
      runtime.addImage('dokku/web:v1');
      runtime.addImage('dokku/web:v2');
    });
    afterEach(async () => {
      await chmod(join(secretsRoot, 'web'), 0o700).catch(() => undefined);
      await rm(secretsRoot, { recursive: true, force: true });
    });

    it('previews the sweep of files no container mounts, sweeps them, and removes them all with the app', async () => {
      await mkdir(join(secretsRoot, 'web', D0), { recursive: true, mode: 0o700 });
      want(withSecrets('v1', D1));
      const preview = await reconciler.preview('web', await reconciler.observeHost());
      assert.deepEqual(
        preview.steps.filter((s) => s.text.startsWith('sweep')).map((s) => `${s.symbol} ${s.text}  (${s.reason})`),
        [`- sweep secret files of web: ${'0'.repeat(12)}  (no container of the app mounts them)`],
      );
      assert.deepEqual(await onDisk(), [D0], 'a preview removes nothing');

      assert.equal((await reconciler.reconcile('web', signal)).phase, 'Running');
      assert.deepEqual(await onDisk(), [D1], 'the stale digest is gone; the mounted one stays');

      want(withSecrets('v2', D2, { deploy: { retireAfter: 0 } }));
      await reconciler.reconcile('web', signal);
      assert.deepEqual(await onDisk(), [D2], 'the old revision retired with its files');

      desired.delete('web');
      assert.equal((await reconciler.reconcile('web', signal)).gone, true);
      await assert.rejects(stat(join(secretsRoot, 'web')), /ENOENT/, 'the app directory is gone with the app');
    });

    it('leaves a directory that fails its checks alone, and says so in the preview', async () => {
      want(withSecrets('v1', D1));
      await reconciler.reconcile('web', signal);
      await mkdir(join(secretsRoot, 'web', D0), { mode: 0o700 });
      await chmod(join(secretsRoot, 'web'), 0o755);
      const preview = await reconciler.preview('web', await reconciler.observeHost());
      assert.deepEqual(preview.steps, []);
      assert.match(preview.notes.join('\n'), /^! the secret files of web are not swept: .*has mode 0755/);
      desired.delete('web');
      await reconciler.reconcile('web', signal);
      assert.deepEqual(await onDisk(), [D0, D1], 'nothing removed through a directory that failed its checks');
      assert.equal(runtime.running('web').length, 0, 'the app itself is removed all the same');
    });
  });
});

async function eventuallyTrue(probe: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !probe(); i++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(probe(), 'condition never became true');
}
