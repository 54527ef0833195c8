import { strict as assert } from 'node:assert';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage } from '../../support/docker.js';
import { startLoad } from '../../support/load.js';
import { PrivateNginx } from '../../support/nginx.js';
import { Scenario } from '../../support/scenario.js';

/** berth in front of a real nginx: routes, zero-downtime switches under load, refusals, removal. */
/**
 * A request counts as failed when nginx refuses, resets or answers wrongly; a slow answer is not a
 * dropped one, and a loaded 2-core CI VM can stall for 2 s, so the client waits up to 10 s.
 */
const LOAD_TIMEOUT_MS = 10_000;

describe('berth run --proxy nginx (real engine, real nginx)', function () {
  this.timeout(180_000);
  let world: Scenario;
  let nginx: PrivateNginx;
  let berth: BerthProcess;
  const HOST = 'shop.example.test';
  const spec = (tag: string, extra: Record<string, unknown> = {}) => ({
    tag,
    domains: [HOST],
    replicas: 2,
    checks: { http: [{ path: '/health', content: 'ok', wait: 0, attempts: 20, timeout: 1 }] },
    deploy: { retireAfter: 1 },
    ...extra,
  });
  const blockFile = () => join(nginx.confDir, `berth.${world.namespace}.shop.conf`);
  const served = async (body: string) =>
    eventually(async () => (await nginx.get(HOST)).body === body, 30_000, `nginx to serve "${body}"`);
  const settled = async () =>
    eventually(async () => (await world.containers('shop')).length === 2, 30_000, 'the old containers to retire');

  before(async () => {
    world = await Scenario.create();
    nginx = await PrivateNginx.start();
    for (const tag of ['blue', 'green', 'broken'])
      await buildTestImage(`${world.namespace}/shop`, tag, {
        body: tag,
        extraFiles: tag === 'broken' ? { health: 'not yet' } : {},
      });
    await world.writeManifest('shop', spec('blue'));
    await world.writeManifest('plain', { tag: 'blue', image: `${world.namespace}/shop`, checks: { wait: 0 } });
    berth = world.start(nginx.berthFlags());
  });
  after(async () => {
    await world.cleanup();
    await nginx.stop();
  });

  it('serves an app with domains through its nginx vhost, balanced over every replica, and writes no block for an app without domains', async () => {
    await served('blue');
    await settled();
    const files = await readdir(nginx.confDir);
    assert.deepEqual(files, [`berth.${world.namespace}.shop.conf`]);
    const ports = (await world.running('shop')).map((c) => c.port).sort();
    const block = await readFile(join(nginx.confDir, files[0]!), 'utf8');
    for (const port of ports) assert.match(block, new RegExp(`server 127\\.0\\.0\\.1:${port} `));
    assert.match(block, new RegExp(`server_name ${HOST.replace(/\./g, '\\.')};`));
  });

  it('moves traffic between versions with zero failed requests under load, across several deploys', async () => {
    const load = startLoad(
      () => nginx.get(HOST, '/', LOAD_TIMEOUT_MS),
      (body) => body === 'blue' || body === 'green',
    );
    try {
      for (const tag of ['green', 'blue', 'green', 'blue']) {
        load.result.firstSeen.clear();
        await world.writeManifest('shop', spec(tag));
        await eventually(async () => load.result.firstSeen.has(tag), 30_000, `${tag} through nginx`);
        await settled();
      }
    } finally {
      await load.stop();
    }
    const result = load.result;
    assert.ok(result.requests > 100, `load ran (${result.requests} requests)`);
    assert.deepEqual(result.failures, [], `${result.failures.length} failed of ${result.requests}`);
  });

  it('a failing deploy never touches the upstream: the old version keeps serving', async () => {
    await served('blue');
    const before = await readFile(blockFile(), 'utf8');
    const load = startLoad(
      () => nginx.get(HOST, '/', LOAD_TIMEOUT_MS),
      (body) => body === 'blue',
    );
    try {
      await world.writeManifest(
        'shop',
        spec('broken', { checks: { http: [{ path: '/health', content: 'ok', wait: 0, attempts: 3, timeout: 1 }] } }),
      );
      await eventually(
        async () => (await world.status()).find((s) => s.app === 'shop' && s.phase === 'Degraded'),
        90_000,
        'Degraded',
      );
    } finally {
      await load.stop();
    }
    const result = load.result;
    assert.deepEqual(result.failures, []);
    const after = await readFile(blockFile(), 'utf8');
    assert.equal(after, before);
  });

  it('a configuration nginx rejects is rolled back and reported; the old version keeps serving until nginx accepts again', async () => {
    await world.writeManifest('shop', spec('blue'));
    await eventually(
      async () => (await world.status()).find((s) => s.app === 'shop' && s.phase === 'Running'),
      30_000,
      'Running',
    );
    const file = blockFile();
    const good = await readFile(file, 'utf8');
    const broken = join(nginx.confDir, 'zz-someone-else.conf');
    await writeFile(broken, 'this is not nginx syntax\n');
    await world.writeManifest('shop', spec('green'));
    const degraded = await eventually(
      async () => (await world.status()).find((s) => s.app === 'shop' && s.phase === 'Degraded'),
      30_000,
      'Degraded by the rejected config',
    );
    assert.match(degraded.lastError ?? '', /nginx rejected the configuration/);
    // berth retries with backoff, and each retry puts the new block in place while `nginx -t` runs, then takes it back out.
    await eventually(async () => (await readFile(file, 'utf8')) === good, 10_000, 'the previous block back in place');
    assert.equal((await nginx.get(HOST)).body, 'blue');
    await rm(broken);
    await served('green');
  });

  it('removing the app removes its vhost', async () => {
    await rm(join(world.manifests, 'shop.yaml'));
    await eventually(async () => (await readdir(nginx.confDir)).length === 0, 30_000, 'the server block to go');
    await eventually(async () => (await nginx.get(HOST)).status === 404, 10_000, 'nginx to stop serving the host');
    assert.equal(await berth.stop(), 0);
  });

  it('rewrites the blocks from what runs when berth starts again', async () => {
    await world.writeManifest('shop', spec('blue'));
    const again = world.start(nginx.berthFlags());
    await served('blue');
    await again.stop();
    await rm(blockFile());
    const plan = await world.cli(['plan', '--manifests', world.manifests, '--exit-code', ...nginx.berthFlags()]);
    assert.equal(plan.code, 2, plan.stdout + plan.stderr);
    assert.match(
      plan.stdout,
      /^shop: repair\n {2}→ route the proxy to 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+ {2}\(the proxy has no route for the app\)$/m,
      'plan shows the route it would write',
    );
    assert.equal(await readFile(blockFile(), 'utf8').catch(() => undefined), undefined, 'plan wrote nothing');
    world.start([...nginx.berthFlags(), '--resync', '2']);
    // nginx keeps serving the deleted block until a reload: the file is what shows berth at work.
    await eventually(
      async () => (await readFile(blockFile(), 'utf8').catch(() => undefined)) !== undefined,
      30_000,
      'berth to write the block again',
    );
    await served('blue');
  });

  it('puts back a server block deleted by hand at the next resync, while berth runs', async () => {
    const block = await readFile(blockFile(), 'utf8');
    await rm(blockFile());
    await eventually(
      async () => (await readFile(blockFile(), 'utf8').catch(() => undefined)) === block,
      20_000,
      'the same block to be back',
    );
    await served('blue');
  });
});
