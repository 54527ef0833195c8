import { strict as assert } from 'node:assert';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, type LogLine } from '../../support/berth-process.js';
import {
  buildTestImage,
  cleanupNamespace,
  dockerCli,
  httpGet,
  tagImages,
  uniqueNamespace,
} from '../../support/docker.js';
import { Scenario } from '../../support/scenario.js';

/** Tag -> image id of every tag of `repository` (`ns/app`), read in one docker call. */
async function tagsOf(repository: string): Promise<Record<string, string>> {
  const listed = await dockerCli(['images', '--no-trunc', '--format', '{{.Tag}} {{.ID}}', repository]);
  return Object.fromEntries(
    listed
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]),
  );
}

describe('berth run: restarts (real engine)', function () {
  this.timeout(120_000);
  let world: Scenario;
  /** The image each tag points at: five distinct images (distinct bodies), so every id assertion tells tags apart. */
  const ids: Record<string, string> = {};
  const TAGS = ['v1', 'v2', 'v3', 'v4', 'v5'];
  /** The images are built once, under a namespace of their own, and tagged into each test's namespace. */
  const images = uniqueNamespace();

  before(async () => {
    for (const tag of TAGS) ids[tag] = await buildTestImage(`${images}/api`, tag, { body: `api ${tag}` });
  });
  after(async () => cleanupNamespace(images));

  beforeEach(async () => {
    world = await Scenario.create();
    for (const tag of TAGS) await tagImages(ids[tag]!, [world.image('api', tag)]);
  });
  afterEach(async () => world.cleanup());

  it('after a restart reconciles nothing that still matches, and with its state lost adopts the app from its labels; restarts nothing either way', async () => {
    await world.writeManifest('api', { tag: 'v1', replicas: 2 });
    const first = world.start();
    await eventually(
      async () => (await world.status()).find((s) => s.app === 'api' && s.phase === 'Running'),
      60_000,
      'Running',
    );
    const before = (await world.running('api')).map((c) => `${c.id} ${c.startedAt}`).sort();
    assert.equal(before.length, 2);
    assert.equal(await first.stop('SIGTERM'), 0);

    const second = world.start();
    const judged = await second.waitForLog((l) => l.source === 'start', 40_000);
    assert.deepEqual([judged.apps, judged.drifted], [1, 0], 'the app is found in sync');
    assert.equal(await second.stop('SIGTERM'), 0);
    assert.ok(!second.logs.some((l) => l.app === 'api' && l.msg === 'reconciled'), 'no reconcile of an app in sync');

    await rm(join(world.stateDir, world.namespace), { recursive: true, force: true });
    const third = world.start();
    // The record is rebuilt from what runs: the running tag is known again.
    await eventually(
      async () =>
        (await world.status()).find((s) => s.app === 'api' && s.phase === 'Running' && s.running.tag === 'v1'),
      40_000,
      'Running v1 again',
    );
    const after = (await world.running('api')).map((c) => `${c.id} ${c.startedAt}`).sort();
    assert.deepEqual(after, before, 'same containers, never restarted');
    // Without a record the running revision is checked again before it counts as serving; no container is touched.
    assert.ok(
      !third.logs.some((l) => l.app === 'api' && ['start', 'stop', 'remove', 'retire'].includes(String(l.step))),
      'no container started, stopped or removed',
    );
  });

  /** Where a deploy (replacing the container named `old`) is killed: the first log line of that step. */
  const KILL_POINTS: { step: string; at: (l: LogLine, old: string) => boolean }[] = [
    { step: 'after the new container was created and started', at: (l) => l.step === 'start' },
    { step: 'during the checks', at: (l) => l.step === 'checks' },
    { step: 'right after the traffic switch', at: (l) => l.step === 'switch' },
    {
      step: 'while retiring the old container',
      at: (l, old) => l.step === 'retire' && Array.isArray(l.containers) && l.containers.includes(old),
    },
  ];

  /**
   * One story through every kill point, each in its own deploy (v1 -> v2 killed after the start,
   * v2 -> v3 during the checks, ...): each kill is followed by a fresh berth that must converge
   * before the next deploy begins. One set of images and one app for all four saves a minute of CI.
   */
  it('killed (SIGKILL) at each step of a deploy in turn (v1 -> v2 ... v4 -> v5), converges on each next start to exactly the new tag, with latest and previous right', async function () {
    this.timeout(300_000);
    await world.writeManifest('api', { tag: 'v1', checks: { wait: 0 }, deploy: { retireAfter: 1 } });
    let berth = world.start();
    await eventually(
      async () => (await world.status()).find((s) => s.app === 'api' && s.phase === 'Running'),
      30_000,
      'v1 Running',
    );

    let [serving] = await world.running('api');
    assert.ok(serving, 'v1 serves');

    for (const [i, point] of KILL_POINTS.entries()) {
      const from = TAGS[i]!;
      const to = TAGS[i + 1]!;
      const killed = `killed ${point.step} (${from} -> ${to})`;
      await eventually(
        async () =>
          (await world.status()).find((s) => s.app === 'api' && s.phase === 'Running' && s.desiredTag === from),
        30_000,
        `${from} Running`,
      );

      const mark = berth.logs.length;
      await world.writeManifest('api', { tag: to, checks: { wait: 2 }, deploy: { retireAfter: 1 } });
      // Anchored at the release of `to`: only a line of this deploy can stand for its kill point.
      const release = await berth.waitForLog(
        (l) => l.app === 'api' && l.step === 'release' && l.image === world.image('api', to),
        30_000,
        mark,
      );
      await berth.waitForLog((l) => l.app === 'api' && point.at(l, serving!.name), 30_000, berth.logs.indexOf(release));
      await berth.stop('SIGKILL');

      berth = world.start();
      serving = await eventually(
        async () => {
          const containers = await world.containers('api');
          return (
            containers.length === 1 &&
            containers[0]?.state === 'running' &&
            containers[0].imageId === ids[to] &&
            containers[0]
          );
        },
        40_000,
        `${killed}: exactly one container, running ${to}`,
      );
      assert.equal((await httpGet(serving.port!)).body, `api ${to}`, killed);
      const tags = await tagsOf(`${world.namespace}/api`);
      assert.equal(tags.latest, ids[to], `${killed}: latest`);
      assert.equal(tags.previous, ids[from], `${killed}: previous`);
      for (const tag of TAGS) assert.equal(tags[tag], ids[tag], `${killed}: no tag lost (${tag})`);
    }
  });

  it('SIGTERM during the checks abandons the deploy cleanly: exit 0 promptly, v1 alone keeps serving', async () => {
    await world.writeManifest('api', { tag: 'v1', checks: { wait: 0 } });
    const berth = world.start();
    await eventually(
      async () => (await world.status()).find((s) => s.app === 'api' && s.phase === 'Running'),
      30_000,
      'v1 Running',
    );
    const mark = berth.logs.length;
    await world.writeManifest('api', { tag: 'v2', checks: { wait: 60 } });
    await berth.waitForLog((l) => l.app === 'api' && l.step === 'checks', 30_000, mark);

    const began = Date.now();
    assert.equal(await berth.stop('SIGTERM', 20_000), 0);
    assert.ok(Date.now() - began < 20_000);
    const containers = await world.containers('api');
    assert.deepEqual(
      containers.map((c) => `${c.imageId} ${c.state}`),
      [`${ids.v1} running`],
      'the unchecked v2 container is removed, v1 serves alone',
    );
    assert.equal((await httpGet(containers[0]!.port!)).body, 'api v1');
    assert.equal(await world.imageId(world.image('api', 'latest')), ids.v1);
  });
});
