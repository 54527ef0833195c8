/**
 * `berth run --runtime swarm` on a real one-node swarm (the shared engine, `docker swarm init`
 * when it is in none, left again after): deploy.monitor after Swarm completed an update, the hold
 * kept on the service, a berth with an empty state directory, and a manifest deleted mid-watch.
 * One app, one replica, in one sequence of steps that each build on the one before.
 */
import { strict as assert } from 'node:assert';
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage } from '../../support/docker.js';
import { pushTo, SHARED_REGISTRY } from '../../support/registry.js';
import { Scenario } from '../../support/scenario.js';
import { ensureSwarm, inspectService, removeServices, type Swarm } from '../../support/swarm.js';

/** How long a held revision is watched not being sent again (the issue asks 60 s; 20 s keeps the file fast). */
const HELD_FOR_MS = 20_000;

describe('berth run --runtime swarm: deploy.monitor, the hold kept in the swarm, a new state directory, a manifest deleted mid-watch (a real swarm)', function () {
  this.timeout(120_000);
  let world: Scenario;
  let swarm: Swarm;
  const digests: Record<string, string> = {};

  before(async function () {
    // Another file may hold the swarm for minutes (ensureSwarm waits its turn): the wait is not this hook's time.
    this.timeout(900_000);
    swarm = await ensureSwarm();
    world = await Scenario.create();
    // `crash` serves and passes its checks, then exits 15 s after it started: after Swarm completed its rollout.
    for (const [tag, command] of [
      ['v1', undefined],
      ['crash', '/bin/busybox httpd -f -p 8080 -h /www & sleep 15; exit 1'],
    ] as const) {
      const id = await buildTestImage(`${world.namespace}/web`, tag, {
        body: tag,
        ...(command ? { command } : {}),
      });
      digests[tag] = await pushTo(SHARED_REGISTRY, id, `${world.namespace}/web`, tag);
    }
  });
  afterEach(async () => {
    await world.killProcesses();
  });
  after(async () => {
    await world.killProcesses();
    await removeServices(world.namespace);
    await world.cleanup();
    await swarm.release();
  });

  const name = () => `${world.namespace}_web`;
  const service = () => inspectService(name());
  const pinned = (tag: string) => `${SHARED_REGISTRY}/${world.namespace}/web:${tag}@${digests[tag]}`;
  // Swarm watches a new task 1 s (berth's own watch follows); berth watches it 40 s once Swarm completed the update.
  const manifest = (tag: string) => ({
    image: `${SHARED_REGISTRY}/${world.namespace}/web`,
    tag,
    replicas: 1,
    ports: [{ container: 8080, hostIp: '0.0.0.0' }],
    checks: { wait: 0, http: [{ path: '/health', content: 'ok', attempts: 3, wait: 1, timeout: 2 }] },
    deploy: { monitor: 40 },
  });
  const web = async () => (await world.status()).find((a) => a.app === 'web');
  const start = () => world.start(['--runtime', 'swarm', '--resync', '2', '--allow-empty']);
  const failWith = (berth: BerthProcess) => (error: Error) => {
    throw new Error(`${error.message}\n${berth.tail(20)}`);
  };

  it('a berth started with an empty state directory sends nothing to a service that runs its manifest: its history starts there', async () => {
    await world.writeManifest('web', manifest('v1'));
    const first = start();
    await eventually(async () => (await web())?.phase === 'Running', 60_000, 'web Running').catch(failWith(first));
    assert.equal(await first.stop(), 0);
    const before = await service();
    assert.equal(before?.image, pinned('v1'));

    await rm(world.stateDir, { recursive: true, force: true });
    const second = start();
    await second.waitForLog(
      (l) => l.app === 'web' && /^web: history starts here: this berth has no record/.test(l.msg),
    );
    await eventually(async () => (await web())?.phase === 'Running', 20_000, 'web Running again').catch(
      failWith(second),
    );
    // A few resyncs (every 2 s) judge it in sync.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    assert.equal((await service())?.version, before?.version, 'no service update was sent');
    assert.equal(second.logs.filter((l) => l.step === 'update' || l.step === 'create').length, 0);
    assert.equal(await second.stop(), 0);
  });

  it('a revision whose task crashes after Swarm completed the rollout is rolled back within deploy.monitor, recorded rolled_back, held on the service and not sent again', async () => {
    const berth = start();
    await world.writeManifest('web', manifest('crash'));
    const deployed = await berth.waitForLog(
      (l) => l.step === 'deployed' && /\/web:crash/.test(String(l.image)),
      60_000,
    );
    const rolledBack = await berth.waitForLog(
      (l) => l.step === 'rollback' && /within deploy\.monitor \(40s\)/.test(l.msg),
      60_000,
    );
    const after = (Number(rolledBack.time) - Number(deployed.time)) / 1000;
    assert.ok(after < 40, `rolled back ${after} s after Swarm completed the update`);
    assert.match(rolledBack.msg, /task .*_web\.1 ended \(failed: task: non-zero exit \(1\)\)/);
    await berth.waitForLog((l) => l.step === 'hold', 60_000).catch(failWith(berth));
    const held = await service();
    assert.equal(held?.image, pinned('v1'), 'Swarm went back to v1');
    assert.equal(held?.labels['berth.held-image'], pinned('crash'), 'the hold is on the service');
    assert.equal(held?.updateState, undefined, "a label-only update: Swarm's update status is empty");
    const history = JSON.parse((await world.cli(['history', 'web', '--json'])).stdout) as {
      tag: string;
      outcome: string;
    }[];
    // This berth's history started after v1 (the state directory was new).
    assert.deepEqual(
      history.map((h) => `${h.tag} ${h.outcome}`),
      ['crash rolled_back', 'crash succeeded'],
    );
    const status = await web();
    assert.equal(status?.phase, 'Degraded');
    assert.match(status?.message ?? '', /web:crash is held after it failed/);

    // Resyncs every 2 s: the held revision is not sent again.
    await new Promise((resolve) => setTimeout(resolve, HELD_FOR_MS));
    const still = await service();
    assert.deepEqual([still?.version, still?.image], [held?.version, pinned('v1')], 'nothing sent while held');
    assert.equal(await berth.stop(), 0);
  });

  it('a berth with an empty state directory finds the hold on the service and sends nothing; berth retry sends it; a manifest deleted while it is watched removes the service within seconds', async () => {
    const before = await service();
    await rm(world.stateDir, { recursive: true, force: true });
    const berth = start();
    await berth.waitForLog((l) => l.app === 'web' && /history starts here/.test(l.msg));
    await eventually(async () => (await web())?.phase === 'Degraded', 20_000, 'web Degraded (held)').catch(
      failWith(berth),
    );
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    assert.equal((await service())?.version, before?.version, 'the held revision was not sent');

    const retry = await world.cli(['retry', 'web']);
    assert.equal(retry.code, 0, retry.stderr);
    await berth.waitForLog((l) => l.step === 'update', 20_000).catch(failWith(berth));
    assert.equal((await service())?.image, pinned('crash'), 'berth retry sent it again');

    // Swarm rolls it out (and berth watches) for several seconds: the deletion does not wait for that.
    await rm(join(world.manifests, 'web.yaml'));
    const deleted = Date.now();
    await eventually(async () => (await service()) === undefined, 15_000, 'the service removed').catch(failWith(berth));
    assert.ok(Date.now() - deleted < 15_000);
    assert.equal(await berth.stop(), 0);
  });

  it('a --swarm-registry that accepts the push and never answers: the app reports the stall within the timeout, another app deploys meanwhile', async () => {
    const held: Socket[] = [];
    const silent: Server = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const registry = `127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      // An image of the app's own repository that only this host has: berth must push it first.
      await buildTestImage(`${world.namespace}/stuck`, 'v1');
      await world.writeManifest('stuck', { tag: 'v1', replicas: 1, ports: [{ container: 8080, hostIp: '0.0.0.0' }] });
      await world.writeManifest('web', manifest('v1'));
      const berth = world.start([
        '--runtime',
        'swarm',
        '--resync',
        '2',
        '--swarm-registry',
        registry,
        '--pull-stall-timeout',
        '3',
      ]);
      const stalled = await berth
        .waitForLog((l) => l.app === 'stuck' && /no progress from the engine for 3 s/.test(l.msg), 60_000)
        .catch(failWith(berth));
      assert.match(stalled.msg, new RegExp(`pushImage ${registry}/${world.namespace}/stuck:v1`));
      await eventually(async () => (await web())?.phase === 'Running', 60_000, 'web Running meanwhile').catch(
        failWith(berth),
      );
      let said = '';
      await eventually(
        async () => {
          const stuck = (await world.status()).find((a) => a.app === 'stuck');
          said = JSON.stringify(stuck);
          return /no progress/.test(stuck?.message ?? '');
        },
        20_000,
        'stuck says the stall',
      ).catch((error: Error) => {
        throw new Error(`${error.message}: ${said}\n${berth.tail(20)}`);
      });
      assert.ok(held.length > 0, 'the engine did reach the silent registry');
      assert.equal(await berth.stop(), 0);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
