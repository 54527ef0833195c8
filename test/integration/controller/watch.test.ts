import { strict as assert } from 'node:assert';
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../../support/berth-process.js';
import { buildTestImage, dockerCli, tagImages } from '../../support/docker.js';
import { Scenario } from '../../support/scenario.js';

describe('berth run: sources of change (real engine)', function () {
  this.timeout(120_000);
  let world: Scenario;

  beforeEach(async () => {
    world = await Scenario.create();
  });
  afterEach(async () => world.cleanup());

  it('follows a symlinked directory swapped atomically, git-sync style', async () => {
    const ids = {
      v1: await buildTestImage(`${world.namespace}/site`, 'v1'),
      v2: await buildTestImage(`${world.namespace}/site`, 'v2'),
    };
    const link = join(world.root, 'current');
    const revision = async (name: string, tag: string) => {
      const dir = join(world.root, 'worktrees', name);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'site.yaml'), world.manifest('site', { tag, checks: { wait: 0 } }));
      await symlink(dir, join(world.root, 'current.new'));
      await rename(join(world.root, 'current.new'), link);
    };
    await revision('rev1', 'v1');
    const berth = world.start(['--manifests', link]);
    await eventually(async () => (await world.running('site'))[0]?.imageId === ids.v1, 30_000, 'v1 running');
    await revision('rev2', 'v2');
    await eventually(
      async () => (await world.containers('site')).map((c) => c.imageId).join() === ids.v2,
      30_000,
      'v2 alone after the swap',
    );
    await revision('rev3', 'v1');
    await eventually(
      async () => (await world.containers('site')).map((c) => c.imageId).join() === ids.v1,
      30_000,
      'v1 alone after a second swap',
    );
    assert.equal(await berth.stop(), 0);
  });

  it('reconciles each app once for a burst of 200 rewritten files (one commit), with bounded concurrency and memory', async () => {
    await buildTestImage(`${world.namespace}/a0`, 'v1');
    const names = Array.from({ length: 200 }, (_, i) => `a${i}`);
    await tagImages(
      `${world.namespace}/a0:v1`,
      names.map((name) => `${world.namespace}/${name}:v1`),
    );
    await Promise.all(
      names.map((name) =>
        writeFile(join(world.manifests, `${name}.yaml`), world.manifest(name, { tag: 'v1', replicas: 0 })),
      ),
    );
    const berth = world.start();
    await eventually(
      async () => names.every((n) => berth.logs.some((l) => l.app === n && l.msg === 'reconciled')),
      60_000,
      'the initial pass',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const mark = berth.logs.length;

    // A checkout replaces each file whole (write and rename), as git and git-sync do.
    await Promise.all(
      names.map((name) => world.writeManifest(name, { tag: 'v1', replicas: 0, env: { REVISION: '2' } })),
    );
    await eventually(
      async () => names.every((n) => berth.logs.slice(mark).some((l) => l.app === n && l.msg === 'reconciled')),
      30_000,
      'every app reconciled after the burst',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const counts = new Map<string, number>();
    for (const line of berth.logs.slice(mark))
      if (line.msg === 'reconciled' && line.app) counts.set(line.app, (counts.get(line.app) ?? 0) + 1);
    const twice = [...counts].find(([, n]) => n > 1)?.[0];
    const trail = berth.logs
      .filter((l) => l.app === twice || l.source !== undefined)
      .map((l) => JSON.stringify(l))
      .join('\n');
    assert.deepEqual(
      [...new Set(counts.values())],
      [1],
      `each app once, got ${JSON.stringify(Object.fromEntries(counts))}; ${twice}'s trail:\n${trail}`,
    );
    const reads = berth.logs
      .slice(mark)
      .filter((l) => l.source === 'manifests' && /manifests changed/.test(l.msg)).length;
    assert.ok(reads <= 5, `the burst is read a few times, not once per file (${reads})`);

    const spans = berth.logs
      .slice(mark)
      .filter((l) => l.msg === 'reconciled')
      .map((l) => [Number(l.time) - Number(l.durationMs), Number(l.time)] as const);
    const overlap = Math.max(...spans.map(([start]) => spans.filter(([s, e]) => s <= start && start < e).length));
    assert.ok(overlap <= 4, `at most --concurrency (4) reconciles at once, saw ${overlap}`);
    const peakKiB = Number(/VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${berth.pid}/status`, 'utf8'))?.[1]);
    assert.ok(
      peakKiB > 0 && peakKiB < 200 * 1024,
      `peak RSS ${Math.round(peakKiB / 1024)} MiB stays bounded (< 200 MiB)`,
    );
  });

  it('replaces a managed container removed behind its back, from the engine event (no resync)', async () => {
    await buildTestImage(`${world.namespace}/svc`, 'v1');
    await world.writeManifest('svc', { tag: 'v1', checks: { wait: 0 } });
    world.start();
    const [first] = await eventually(
      async () => {
        const running = await world.running('svc');
        return running.length === 1 && running;
      },
      30_000,
      'svc running',
    );
    await dockerCli(['rm', '-f', first!.id]);
    const [replacement] = await eventually(
      async () => {
        const running = await world.running('svc');
        return running.length === 1 && running[0]!.id !== first!.id && running;
      },
      15_000,
      'a replacement container',
    );
    assert.equal(replacement!.labels['berth.app'], 'svc');
  });

  it('deploys Pending apps as soon as their image arrives (docker load, docker tag), from engine events (no resync)', async () => {
    const loaded = await buildTestImage(`${world.namespace}/ci`, 'v12');
    const archive = join(world.root, 'ci-v12.tar');
    await dockerCli(['save', '-o', archive, `${world.namespace}/ci:v12`]);
    await dockerCli(['rmi', `${world.namespace}/ci:v12`]);
    const tagged = await buildTestImage(`${world.namespace}/local`, 'build');
    await world.writeManifest('ci', { tag: 'v12', checks: { wait: 0 } });
    await world.writeManifest('local', { tag: 'v3', checks: { wait: 0 } });
    world.start();
    await eventually(
      async () => (await world.status()).filter((s) => s.phase === 'Pending').length === 2,
      20_000,
      'both Pending',
    );
    assert.equal((await world.containers()).length, 0);

    await dockerCli(['load', '-i', archive]);
    const [fromLoad] = await eventually(
      async () => {
        const running = await world.running('ci');
        return running.length === 1 && running;
      },
      15_000,
      'ci deployed once its image was loaded',
    );
    assert.equal(fromLoad!.imageId, loaded);

    await dockerCli(['tag', `${world.namespace}/local:build`, `${world.namespace}/local:v3`]);
    const [fromTag] = await eventually(
      async () => {
        const running = await world.running('local');
        return running.length === 1 && running;
      },
      15_000,
      'local deployed once the tag appeared',
    );
    assert.equal(fromTag!.imageId, tagged);
  });

  it('removes nothing when the directory is emptied, unless --allow-empty', async () => {
    await buildTestImage(`${world.namespace}/keep`, 'v1');
    await world.writeManifest('keep', { tag: 'v1', checks: { wait: 0 } });
    const berth = world.start();
    await eventually(async () => (await world.running('keep')).length === 1, 30_000, 'keep running');
    await rm(join(world.manifests, 'keep.yaml'));
    await eventually(
      async () => /allow-empty/.test((await world.status()).find((s) => s.app === 'keep')?.message ?? ''),
      10_000,
      'status explains the hold',
    );
    assert.equal((await world.running('keep')).length, 1);
    await rm(world.manifests, { recursive: true });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal((await world.running('keep')).length, 1, 'a deleted directory removes nothing either');
    // A mounted volume going away leaves the path pointing nowhere, or at something that is not a directory.
    await symlink(join(world.root, 'unmounted-volume'), world.manifests);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal((await world.running('keep')).length, 1, 'a dangling directory symlink removes nothing');
    await rm(world.manifests);
    await writeFile(world.manifests, 'not a directory\n');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal((await world.running('keep')).length, 1, 'a file in place of the directory removes nothing');
    assert.ok(
      berth.logs.every((l) => l.step !== 'retire' && l.step !== 'remove'),
      'nothing was ever retired or removed',
    );
    assert.equal(await berth.stop(), 0);
    await rm(world.manifests);

    await mkdir(world.manifests);
    world.start(['--allow-empty']);
    await eventually(async () => (await world.containers('keep')).length === 0, 20_000, 'removed with --allow-empty');
  });
});
