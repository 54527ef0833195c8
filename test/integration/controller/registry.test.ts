import { strict as assert } from 'node:assert';
import { eventually } from '../../support/berth-process.js';
import { buildTestImage, httpGet } from '../../support/docker.js';
import { PrivateRegistry, SHARED_REGISTRY, pushTo } from '../../support/registry.js';
import { Scenario } from '../../support/scenario.js';

describe('berth run: images from a registry, digest pins, kept revisions (real engine, real docker-registry)', function () {
  this.timeout(120_000);
  let world: Scenario;
  let registry: PrivateRegistry | undefined;

  beforeEach(async () => {
    world = await Scenario.create();
  });
  afterEach(async () => {
    await registry?.stop();
    registry = undefined;
    await world.cleanup();
  });

  const servedBody = async (app: string) => {
    const [running] = await world.running(app);
    return running?.port === undefined ? undefined : (await httpGet(running.port)).body;
  };

  it('pulls spec.image from the registry, checks its digest pin, mirrors it as <namespace>/<app>:<tag> and retags latest', async () => {
    const id = await buildTestImage(`${world.namespace}/build`, 'v1');
    const digest = await pushTo(SHARED_REGISTRY, `${world.namespace}/build:v1`, `${world.namespace}/web`, 'v1');
    const image = `${SHARED_REGISTRY}/${world.namespace}/web`;
    assert.equal(await world.imageId(`${image}:v1`), undefined, 'not on the host before berth pulls it');
    await world.writeManifest('web', { image, tag: 'v1', digest, checks: { wait: 0 } });
    world.start();

    await eventually(async () => (await world.running('web'))[0]?.imageId === id, 30_000, 'the pulled image running');
    assert.equal(await world.imageId(`${image}:v1`), id);
    assert.equal(await world.imageId(world.image('web', 'v1')), id, 'mirrored');
    assert.equal(await world.imageId(world.image('web', 'latest')), id, 'latest retagged');
    assert.equal(await servedBody('web'), `${world.namespace}/build:v1`);
    const [status] = await world.status();
    assert.equal(status?.phase, 'Running');
    assert.equal(status?.desiredTag, 'v1');

    // tags:deploy asks the registry for a tag this host has never seen, and refuses one it lacks.
    const v2 = await buildTestImage(`${world.namespace}/build`, 'v2');
    const v2digest = await pushTo(SHARED_REGISTRY, `${world.namespace}/build:v2`, `${world.namespace}/web`, 'v2');
    const missing = await world.cli(['tags:deploy', 'web', 'v9', '--manifests', world.manifests]);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      new RegExp(`no image ${image.replace(/[.]/g, '\\.')}:v9 on this host nor in its registry`),
    );
    const pinned = await world.cli(['tags:deploy', 'web', 'v2', '--manifests', world.manifests]);
    assert.equal(pinned.code, 1, 'the digest pin still names v1');
    assert.match(pinned.stderr, new RegExp(`is ${v2digest} in its registry, but spec\\.digest pins ${digest}`));
    await world.writeManifest('web', { image, tag: 'v1', checks: { wait: 0 } });
    const deployed = await world.cli([
      'tags:deploy',
      'web',
      'v2',
      '--manifests',
      world.manifests,
      '--wait',
      '--timeout',
      '60',
    ]);
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.match(deployed.stdout, /in its registry; berth pulls it/);
    assert.equal((await world.running('web'))[0]?.imageId, v2);
  });

  it('refuses a digest mismatch, naming both digests, and keeps the running revision', async () => {
    const v1 = await buildTestImage(`${world.namespace}/web`, 'v1');
    const v2 = await buildTestImage(`${world.namespace}/web`, 'v2');
    await world.writeManifest('web', { tag: 'v1', digest: v1, checks: { wait: 0 } });
    world.start();
    await eventually(async () => (await world.running('web'))[0]?.imageId === v1, 30_000, 'v1 running');

    await world.writeManifest('web', { tag: 'v2', digest: v1, checks: { wait: 0 } });
    const refused = await eventually(
      async () => (await world.status()).find((s) => s.app === 'web' && s.phase === 'Degraded'),
      15_000,
      'Degraded',
    );
    assert.match(
      refused.message,
      new RegExp(`digest mismatch: the manifest pins ${v1} but ${world.namespace}/web:v2 is ${v2}`),
    );
    assert.deepEqual(
      (await world.running('web')).map((c) => c.imageId),
      [v1],
    );
  });

  it('keeps the last --keep-revisions pulls tagged: with the registry down a kept revision redeploys, a released one is Pending and the app keeps serving', async () => {
    registry = await PrivateRegistry.start();
    const image = `${registry.address}/${world.namespace}/web`;
    const ids: Record<string, string> = {};
    for (const tag of ['v1', 'v2', 'v3']) {
      ids[tag] = await buildTestImage(`${world.namespace}/build`, tag);
      await pushTo(registry.address, `${world.namespace}/build:${tag}`, `${world.namespace}/web`, tag);
    }
    const deploy = async (tag: string) => {
      await world.writeManifest('web', { image, tag, checks: { wait: 0 }, deploy: { retireAfter: 0 } });
      await eventually(
        async () => (await world.containers('web')).map((c) => c.imageId).join() === ids[tag],
        30_000,
        `${tag} alone`,
      );
    };
    world.start(['--keep-revisions', '2']);
    await deploy('v1');
    await deploy('v2');
    await deploy('v3');
    await eventually(
      async () =>
        (await world.imageId(`${image}:v1`)) === undefined &&
        (await world.imageId(world.image('web', 'v1'))) === undefined,
      10_000,
      'v1 released',
    );
    assert.equal(await world.imageId(world.image('web', 'v2')), ids.v2, 'v2 kept');

    await registry.pause();
    await deploy('v2');
    assert.equal(await servedBody('web'), `${world.namespace}/build:v2`, 'rolled back without the registry');

    await world.writeManifest('web', { image, tag: 'v1', checks: { wait: 0 }, deploy: { retireAfter: 0 } });
    const pending = await eventually(
      async () => (await world.status()).find((s) => s.app === 'web' && s.phase === 'Pending' && s.lastError),
      20_000,
      'Pending with the pull error',
    );
    assert.match(pending.lastError!, new RegExp(`pullImage ${image.replace(/[.]/g, '\\.')}:v1`));
    assert.deepEqual(
      (await world.running('web')).map((c) => c.imageId),
      [ids.v2],
      'a failed pull touches nothing',
    );
    assert.equal(await servedBody('web'), `${world.namespace}/build:v2`);

    const history = JSON.parse((await world.cli(['history', 'web', '--json'])).stdout) as {
      tag: string;
      outcome: string;
    }[];
    assert.deepEqual(
      history.map((h) => `${h.tag} ${h.outcome}`),
      ['v2 succeeded', 'v3 succeeded', 'v2 succeeded', 'v1 succeeded'],
    );
  });
});
