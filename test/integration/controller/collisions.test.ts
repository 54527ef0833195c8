/**
 * Apps that claim one host port or one domain: the app that holds the claim keeps it and keeps
 * serving, a newcomer is Invalid naming both claims, neither is deployed while neither holds it,
 * and a port something outside berth holds fails the deploy in berth's words. Real engine, real
 * nginx, a real process on the port.
 */
import { strict as assert } from 'node:assert';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { eventually } from '../../support/berth-process.js';
import { buildTestImage } from '../../support/docker.js';
import { freePort, PrivateNginx } from '../../support/nginx.js';
import { Scenario } from '../../support/scenario.js';

const quick = { checks: { wait: 0 }, deploy: { retireAfter: 0 } };

describe('berth run: apps that claim one host port or domain', function () {
  this.timeout(120_000);
  let world: Scenario;

  beforeEach(async () => {
    world = await Scenario.create();
  });
  afterEach(async () => {
    await world.cleanup();
  });

  const phaseOf = async (app: string) => (await world.status()).find((a) => a.app === app);
  const fixed = (host: number) => [{ container: 8080, host, hostIp: '127.0.0.1' }];

  it('the app that holds a host port keeps serving; a newcomer claiming it is Invalid, and validate names both claims', async () => {
    const image = await buildTestImage(`${world.namespace}/shop`, 'v1');
    const port = await freePort();
    await world.writeManifest('a', { image: `${world.namespace}/shop`, tag: 'v1', ports: fixed(port), ...quick });
    const berth = world.start();
    await eventually(async () => (await phaseOf('a'))?.phase === 'Running', 30_000, 'a Running');
    const [holding] = await world.running('a');

    const newcomer = await world.writeManifest('b', {
      image: `${world.namespace}/shop`,
      tag: 'v1',
      ports: fixed(port),
      ...quick,
    });
    const b = await eventually(
      async () => {
        const status = await phaseOf('b');
        return status?.phase === 'Invalid' ? status : undefined;
      },
      20_000,
      'b Invalid',
    );
    assert.match(
      b.message,
      new RegExp(
        `^${newcomer}:\\d+:\\d+: host port 127\\.0\\.0\\.1:${port}/tcp is also published by app a \\(.*a\\.yaml:\\d+:\\d+\\); a keeps it$`,
      ),
    );
    assert.equal((await world.containers('b')).length, 0, 'nothing of b was created');
    const [still] = await world.running('a');
    assert.deepEqual(
      [still?.id, still?.startedAt, still?.imageId],
      [holding?.id, holding?.startedAt, image],
      'a was never touched',
    );
    assert.equal((await phaseOf('a'))?.phase, 'Running');

    const validate = await world.cli(['validate', world.manifests]);
    assert.equal(validate.code, 1);
    assert.deepEqual(
      validate.stdout
        .trim()
        .split('\n')
        .map((l) => l.replace(/:\d+:\d+/g, ':L:C')),
      [
        `${join(world.manifests, 'a.yaml')}:L:C: host port 127.0.0.1:${port}/tcp is also published by app b (${newcomer}:L:C)`,
        `${newcomer}:L:C: host port 127.0.0.1:${port}/tcp is also published by app a (${join(world.manifests, 'a.yaml')}:L:C)`,
      ],
    );

    await world.writeManifest('b', {
      image: `${world.namespace}/shop`,
      tag: 'v1',
      ports: fixed(await freePort()),
      ...quick,
    });
    await eventually(async () => (await phaseOf('b'))?.phase === 'Running', 30_000, 'b deployed once the files agree');
    assert.equal(await berth.stop(), 0);
  });

  it('deploys neither app while neither holds the port, and both once the files agree', async () => {
    await buildTestImage(`${world.namespace}/shop`, 'v1');
    const port = await freePort();
    await world.writeManifest('a', { image: `${world.namespace}/shop`, tag: 'v1', ports: fixed(port), ...quick });
    await world.writeManifest('b', { image: `${world.namespace}/shop`, tag: 'v1', ports: fixed(port), ...quick });
    const once = await world.cli(['run', '--once', '--manifests', world.manifests]);
    assert.equal(once.code, 1);
    assert.match(
      once.stderr,
      /^a: Invalid: .*host port 127\.0\.0\.1:\d+\/tcp is also published by app b .*neither is deployed until the files agree$/m,
    );
    assert.match(
      once.stderr,
      /^b: Invalid: .*is also published by app a .*neither is deployed until the files agree$/m,
    );
    assert.equal((await world.containers()).length, 0);

    await world.writeManifest('b', {
      image: `${world.namespace}/shop`,
      tag: 'v1',
      ports: fixed(await freePort()),
      ...quick,
    });
    const agreed = await world.cli(['run', '--once', '--manifests', world.manifests]);
    assert.equal(agreed.code, 0, agreed.stderr);
    assert.equal((await world.running()).length, 2);
  });

  it('a port held by a process outside berth fails the deploy in berth’s words; the old revision keeps serving', async () => {
    const image = await buildTestImage(`${world.namespace}/shop`, 'v1');
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      await world.writeManifest('shop', { tag: 'v1', ports: fixed(await freePort()), ...quick });
      const berth = world.start();
      await eventually(async () => (await phaseOf('shop'))?.phase === 'Running', 30_000, 'shop Running');
      const [before] = await world.running('shop');

      await world.writeManifest('shop', { tag: 'v1', ports: fixed(taken), ...quick });
      const failed = await eventually(
        async () => {
          const status = await phaseOf('shop');
          return status?.lastError?.includes('in use') ? status : undefined;
        },
        30_000,
        'the deploy to fail',
      );
      assert.equal(failed.lastError, `deploy failed: host port 127.0.0.1:${taken} is in use by something else`);
      assert.equal(failed.phase, 'Degraded');
      // recreate stopped the old container to free its port; the failed attempt put it back (a retry may stop it again for a moment).
      await eventually(
        async () =>
          (await world.running('shop')).map((c) => `${c.id} ${c.imageId}`).join() === `${before?.id} ${image}`,
        10_000,
        'the old container serving again',
      );
      assert.equal(await berth.stop(), 0);
    } finally {
      blocker.close();
    }
  });

  it('with nginx, the app serving a domain keeps it; a newcomer listing it is Invalid and nginx still serves the holder', async () => {
    const nginx = await PrivateNginx.start();
    try {
      await buildTestImage(`${world.namespace}/shop`, 'blue', { body: 'blue' });
      await buildTestImage(`${world.namespace}/squat`, 'green', { body: 'green' });
      const host = 'shop.example.test';
      await world.writeManifest('shop', { tag: 'blue', domains: [host], ...quick });
      const berth = world.start(nginx.berthFlags());
      await eventually(
        async () => (await nginx.get('shop.example.test')).body === 'blue',
        30_000,
        'nginx to serve shop',
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${berth.tail(20)}`);
      });

      const squat = join(world.manifests, 'squat.yaml');
      await writeFile(squat, world.manifest('squat', { tag: 'green', domains: [host], ...quick }));
      const refused = await eventually(
        async () => {
          const status = await phaseOf('squat');
          return status?.phase === 'Invalid' ? status : undefined;
        },
        20_000,
        'squat Invalid',
      );
      assert.match(
        refused.message,
        /domain shop\.example\.test is also served by app shop \(.*shop\.yaml:\d+:\d+\); shop keeps it$/,
      );
      assert.equal((await world.containers('squat')).length, 0);
      for (let i = 0; i < 5; i++) assert.equal((await nginx.get('shop.example.test')).body, 'blue');
      assert.equal((await phaseOf('shop'))?.phase, 'Running');
      assert.equal(await berth.stop(), 0);
    } finally {
      await nginx.stop();
    }
  });
});
