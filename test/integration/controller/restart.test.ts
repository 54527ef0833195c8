import { strict as assert } from 'node:assert';
import { eventually, type LogLine } from '../../support/berth-process.js';
import { buildTestImage, httpGet } from '../../support/docker.js';
import { Scenario } from '../../support/scenario.js';

describe('berth run: restarts (real engine)', function () {
  this.timeout(120_000);
  let world: Scenario;
  const ids: Record<string, string> = {};

  beforeEach(async () => {
    world = await Scenario.create();
    for (const tag of ['v1', 'v2']) ids[tag] = await buildTestImage(`${world.namespace}/api`, tag, { body: `api ${tag}` });
  });
  afterEach(async () => world.cleanup());

  it('adopts running apps from their labels after a restart and restarts none of them', async () => {
    await world.writeManifest('api', { tag: 'v1', replicas: 2 });
    const first = world.start();
    await eventually(async () => (await world.status()).find((s) => s.app === 'api' && s.phase === 'Running'), 30_000, 'Running');
    const before = (await world.running('api')).map((c) => `${c.id} ${c.startedAt}`).sort();
    assert.equal(before.length, 2);
    assert.equal(await first.stop('SIGTERM'), 0);

    const second = world.start();
    await second.waitForLog((l) => l.app === 'api' && /reconciled/.test(l.msg), 20_000);
    const after = (await world.running('api')).map((c) => `${c.id} ${c.startedAt}`).sort();
    assert.deepEqual(after, before, 'same containers, never restarted');
    assert.ok(!second.logs.some((l) => l.app === 'api' && ['release', 'start', 'stop', 'remove', 'retire'].includes(String(l.step))), 'no deploy steps after the restart');
  });

  /** Where a deploy of v2 (replacing v1) is killed: the first log line of that step. */
  const KILL_POINTS: { step: string; at: (l: LogLine) => boolean }[] = [
    { step: 'after the new container was created and started', at: (l) => l.step === 'start' },
    { step: 'during the checks', at: (l) => l.step === 'checks' },
    { step: 'right after the traffic switch', at: (l) => l.step === 'switch' },
    { step: 'while retiring the old container', at: (l) => l.step === 'retire' && Array.isArray(l.containers) },
  ];

  for (const point of KILL_POINTS) {
    it(`killed (SIGKILL) ${point.step}, converges on its next start to exactly v2, with latest and previous right`, async () => {
      await world.writeManifest('api', { tag: 'v1', checks: { wait: 0 }, deploy: { retireAfter: 1 } });
      const first = world.start();
      await eventually(async () => (await world.status()).find((s) => s.app === 'api' && s.phase === 'Running'), 30_000, 'v1 Running');

      const mark = first.logs.length;
      await world.writeManifest('api', { tag: 'v2', checks: { wait: 2 }, deploy: { retireAfter: 1 } });
      await first.waitForLog((l) => l.app === 'api' && point.at(l), 30_000, mark);
      await first.stop('SIGKILL');

      world.start();
      await eventually(
        async () => {
          const containers = await world.containers('api');
          return containers.length === 1 && containers[0]?.state === 'running' && containers[0].imageId === ids.v2;
        },
        40_000,
        'exactly one container, running v2',
      );
      const [container] = await world.running('api');
      assert.equal((await httpGet(container!.port!)).body, 'api v2');
      assert.equal(await world.imageId(world.image('api', 'latest')), ids.v2);
      assert.equal(await world.imageId(world.image('api', 'previous')), ids.v1);
      assert.equal(await world.imageId(world.image('api', 'v1')), ids.v1, 'no tag lost');
    });
  }

  it('SIGTERM during the checks abandons the deploy cleanly: exit 0 promptly, v1 alone keeps serving', async () => {
    await world.writeManifest('api', { tag: 'v1', checks: { wait: 0 } });
    const berth = world.start();
    await eventually(async () => (await world.status()).find((s) => s.app === 'api' && s.phase === 'Running'), 30_000, 'v1 Running');
    const mark = berth.logs.length;
    await world.writeManifest('api', { tag: 'v2', checks: { wait: 60 } });
    await berth.waitForLog((l) => l.app === 'api' && l.step === 'checks', 30_000, mark);

    const began = Date.now();
    assert.equal(await berth.stop('SIGTERM', 20_000), 0);
    assert.ok(Date.now() - began < 20_000);
    const containers = await world.containers('api');
    assert.deepEqual(containers.map((c) => `${c.imageId} ${c.state}`), [`${ids.v1} running`], 'the unchecked v2 container is removed, v1 serves alone');
    assert.equal((await httpGet(containers[0]!.port!)).body, 'api v1');
    assert.equal(await world.imageId(world.image('api', 'latest')), ids.v1);
  });
});
