import { strict as assert } from 'node:assert';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage, httpGet } from '../../support/docker.js';
import { Scenario } from '../../support/scenario.js';

/** One controller, one app, through a user's whole story: deploy, edit, roll back, break it, delete it. */
describe('berth run: an app through its lifecycle (real engine)', function () {
  this.timeout(90_000);
  let world: Scenario;
  let berth: BerthProcess;
  const ids: Record<string, string> = {};

  const body = async () => {
    const [container] = await world.running('web');
    if (!container?.port) return undefined;
    return (await httpGet(container.port)).body;
  };
  const servedBody = (expected: string) =>
    eventually(async () => (await body()) === expected && expected, 30_000, `web to serve "${expected}"`);

  before(async () => {
    world = await Scenario.create();
    for (const tag of ['v1', 'v2', 'v3'])
      ids[tag] = await buildTestImage(`${world.namespace}/web`, tag, { body: `web ${tag}` });
    await world.writeManifest('web', { tag: 'v1', env: { SECRET_TOKEN: 'hunter2-do-not-log' } });
    await world.writeManifest('idle', { tag: 'v1', replicas: 0 });
    berth = world.start();
  });
  after(async () => world.cleanup());

  it('deploys the manifest: a labelled container serving on a 127.0.0.1 port, latest retagged, status Running', async () => {
    await servedBody('web v1');
    await berth.waitForLog((l) => l.step === 'deployed' && l.app === 'web');
    const [container] = await world.running('web');
    assert.equal(container?.labels['berth.managed'], 'true');
    assert.equal(container?.labels['berth.app'], 'web');
    assert.match(container?.labels['berth.spec-hash'] ?? '', /^[0-9a-f]{16}$/);
    assert.equal(container?.imageId, ids.v1);
    assert.equal(await world.imageId(world.image('web', 'latest')), ids.v1);
    const status = await eventually(
      async () => (await world.status()).find((s) => s.app === 'web' && s.phase === 'Running'),
      10_000,
      'status Running',
    );
    assert.equal(status.desiredTag, 'v1');
  });

  it('logs the steps a Dokku user knows, and never an env value', async () => {
    const messages = berth.logs.filter((l) => l.app === 'web').map((l) => l.msg);
    for (const expected of [
      /^Releasing web/,
      /^Deploying web/,
      /^Running pre-flight checks/,
      /container check successful/,
      /^Application deployed/,
    ]) {
      assert.ok(
        messages.some((m) => expected.test(m)),
        `a log line matching ${expected}`,
      );
    }
    assert.ok(!JSON.stringify(berth.logs).includes('hunter2-do-not-log'));
  });

  it('rolls out a tag edit with zero downtime: the new container passes its checks before the old one retires', async () => {
    const [old] = await world.running('web');
    await world.writeManifest('web', { tag: 'v2', env: { SECRET_TOKEN: 'hunter2-do-not-log' } });
    await servedBody('web v2');
    await eventually(async () => (await world.containers('web')).length === 1, 20_000, 'the old container to retire');
    const containers = await world.containers('web');
    assert.equal(containers[0]?.imageId, ids.v2);
    assert.notEqual(containers[0]?.id, old?.id);
    assert.equal(await world.imageId(world.image('web', 'latest')), ids.v2);
    assert.equal(await world.imageId(world.image('web', 'previous')), ids.v1);
    const switched = berth.logs.findIndex(
      (l) => l.app === 'web' && l.step === 'retag' && String(l.msg).includes('latest'),
    );
    const retired = berth.logs.findIndex((l, i) => i > switched && l.app === 'web' && l.step === 'retire');
    assert.ok(switched >= 0 && retired > switched, 'the old container retires only after the switch');
  });

  it('rolls back when the tag is edited back', async () => {
    await world.writeManifest('web', { tag: 'v1', env: { SECRET_TOKEN: 'hunter2-do-not-log' } });
    await servedBody('web v1');
    await eventually(
      async () => (await world.containers('web')).length === 1,
      20_000,
      'one container after the rollback',
    );
    assert.equal(await world.imageId(world.image('web', 'latest')), ids.v1);
  });

  it('a failing check removes the new container, keeps the old revision serving, and reports Degraded with the reason', async () => {
    const [serving] = await world.running('web');
    await world.writeManifest('web', {
      tag: 'v3',
      checks: { http: [{ path: '/does-not-exist', attempts: 3, wait: 1, timeout: 1 }] },
    });
    // Between the failure and the first retry (2 s of backoff) only the old container is left.
    const degraded = await eventually(
      async () => {
        const status = (await world.status()).find((s) => s.app === 'web' && s.phase === 'Degraded');
        const containers = status && (await world.containers('web'));
        return containers && containers.length === 1 && containers[0]?.id === serving?.id && status;
      },
      90_000,
      'status Degraded with only the old container left',
    );
    assert.match(degraded.lastError ?? '', /check \/does-not-exist on .* failed after 3 attempts/);
    assert.equal((await httpGet(serving!.port!)).body, 'web v1');
    assert.equal(await world.imageId(world.image('web', 'latest')), ids.v1, 'latest untouched by the failed deploy');
  });

  it('an invalid manifest keeps the app running on its last valid state and reports Invalid with file:line:col', async () => {
    await world.writeManifest('web', { tag: 'v1' });
    await eventually(
      async () => (await world.status()).find((s) => s.app === 'web' && s.phase === 'Running'),
      30_000,
      'Running again',
    );
    await eventually(async () => (await world.containers('web')).length === 1, 20_000, 'one container');
    const [before] = await world.running('web');
    await writeFile(
      join(world.manifests, 'web.yaml'),
      'apiVersion: berth/v1\nkind: App\nmetadata:\n  name: web\nspec:\n  tag: v1\n  replicas: many\n',
    );
    const invalid = await eventually(
      async () => (await world.status()).find((s) => s.app === 'web' && s.phase === 'Invalid'),
      10_000,
      'status Invalid',
    );
    assert.match(invalid.message, /web\.yaml:7:13: spec\.replicas/);
    await writeFile(join(world.manifests, 'web.yaml'), 'apiVersion: berth/v1\nkind: App\nmetadata: {name: web\n');
    await berth.waitForLog((l) => l.source === 'manifests' || l.msg.includes('manifest'), 5_000).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const [after] = await world.running('web');
    assert.equal(after?.id, before?.id, 'the running container was not touched');
    assert.equal(await body(), 'web v1');
  });

  it('a deleted manifest removes the app’s containers but keeps its images', async () => {
    await world.writeManifest('web', { tag: 'v1' });
    await rm(join(world.manifests, 'web.yaml'));
    await eventually(async () => (await world.containers('web')).length === 0, 20_000, 'the containers to be removed');
    assert.equal(await world.imageId(world.image('web', 'v1')), ids.v1);
    assert.equal(await world.imageId(world.image('web', 'latest')), ids.v1);
    await eventually(
      async () => !(await world.status()).some((s) => s.app === 'web'),
      10_000,
      'the app to leave status',
    );
  });

  it('stops cleanly on SIGTERM with exit code 0', async () => {
    assert.equal(await berth.stop('SIGTERM'), 0);
  });
});
