import { strict as assert } from 'node:assert';
import { eventually } from '../../support/berth-process.js';
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

  it('killed (SIGKILL) in the middle of a deploy, converges cleanly on its next start', async () => {
    await world.writeManifest('api', { tag: 'v1', deploy: { retireAfter: 1 } });
    const first = world.start();
    await eventually(async () => (await world.status()).find((s) => s.app === 'api' && s.phase === 'Running'), 30_000, 'v1 Running');

    const mark = first.logs.length;
    await world.writeManifest('api', { tag: 'v2', checks: { wait: 4 }, deploy: { retireAfter: 1 } });
    await first.waitForLog((l) => l.app === 'api' && l.msg === 'Running pre-flight checks', 20_000, mark);
    await first.stop('SIGKILL');
    const midway = await world.running('api');
    assert.equal(midway.length, 2, 'killed with the old and the unchecked new container both running');

    world.start();
    await eventually(
      async () => {
        const containers = await world.containers('api');
        return containers.length === 1 && containers[0]?.state === 'running' && containers[0].imageId === ids.v2;
      },
      40_000,
      'exactly one v2 container',
    );
    const [container] = await world.running('api');
    assert.equal((await httpGet(container!.port!)).body, 'api v2');
    assert.equal(await world.imageId(world.image('api', 'latest')), ids.v2);
    assert.equal(await world.imageId(world.image('api', 'previous')), ids.v1);
  });
});
