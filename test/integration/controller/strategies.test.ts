import { strict as assert } from 'node:assert';
import { eventually } from '../../support/berth-process.js';
import { buildTestImage, dockerCli, httpGet } from '../../support/docker.js';
import { freePort } from '../../support/nginx.js';
import { Scenario } from '../../support/scenario.js';

describe('berth run: deploy strategies and checks (real engine)', function () {
  this.timeout(90_000);
  let world: Scenario;

  beforeEach(async () => {
    world = await Scenario.create();
  });
  afterEach(async () => world.cleanup());

  it('deploys an app with a fixed host port by recreate, serving each version on that port', async () => {
    const ids = {
      v1: await buildTestImage(`${world.namespace}/fixed`, 'v1', { body: 'fixed v1' }),
      v2: await buildTestImage(`${world.namespace}/fixed`, 'v2', { body: 'fixed v2' }),
    };
    const port = await freePort();
    const spec = (tag: string) => ({
      tag,
      ports: [{ container: 8080, host: port }],
      checks: { http: [{ path: '/health', content: 'ok', wait: 0, attempts: 10, timeout: 1 }] },
    });
    await world.writeManifest('fixed', spec('v1'));
    const berth = world.start();
    await eventually(async () => (await httpGet(port)).body === 'fixed v1', 30_000, 'v1 on the fixed port');
    await world.writeManifest('fixed', spec('v2'));
    await eventually(
      async () => (await httpGet(port).catch(() => ({ body: '' }))).body === 'fixed v2',
      30_000,
      'v2 on the fixed port',
    );
    await eventually(
      async () => (await world.containers('fixed')).map((c) => c.imageId).join() === ids.v2,
      20_000,
      'only v2 left',
    );
    const deploy = berth.logs.find(
      (l) => l.app === 'fixed' && l.step === 'deploy' && String(l.revision).endsWith(ids.v2),
    );
    assert.equal(deploy?.strategy, 'recreate');
    assert.ok(
      berth.logs.some((l) => l.app === 'fixed' && l.step === 'stop'),
      'the old container was stopped before the new one started',
    );
  });

  it('passes HTTP checks through the 127.0.0.1 port of every replica', async () => {
    await buildTestImage(`${world.namespace}/checked`, 'v1', { extraFiles: { ready: 'ready: yes' } });
    await world.writeManifest('checked', {
      tag: 'v1',
      replicas: 2,
      checks: { http: [{ path: '/ready', content: 'yes', wait: 0, attempts: 5, timeout: 2 }] },
    });
    const berth = world.start();
    await eventually(
      async () => (await world.status()).find((s) => s.app === 'checked' && s.phase === 'Running'),
      30_000,
      'Running',
    );
    assert.equal((await world.running('checked')).length, 2);
    const passed = berth.logs.filter(
      (l) => l.app === 'checked' && l.step === 'checks' && l.check === '/ready' && l.result === 'passed',
    );
    assert.equal(passed.length, 2, 'the check ran against each replica');
  });

  it('runs exec checks inside each new container of an image with no shell, and keeps the old revision when the probe fails', async () => {
    const ids = {
      v1: await buildTestImage(`${world.namespace}/probed`, 'v1', {
        shell: false,
        body: 'probed v1',
        extraFiles: { ready: 'yes' },
      }),
      v2: await buildTestImage(`${world.namespace}/probed`, 'v2', { shell: false, body: 'probed v2' }),
    };
    const probe = {
      command: ['/bin/busybox', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/ready'],
      wait: 0,
      attempts: 3,
      timeout: 2,
    };
    await world.writeManifest('probed', { tag: 'v1', replicas: 2, checks: { exec: [probe] } });
    const berth = world.start();
    await eventually(
      async () => (await world.status()).find((s) => s.app === 'probed' && s.phase === 'Running'),
      30_000,
      'Running',
    );
    const passed = berth.logs.filter(
      (l) => l.app === 'probed' && l.step === 'checks' && l.result === 'passed' && String(l.check).includes('/ready'),
    );
    assert.equal(passed.length, 2, 'the probe ran in each replica');
    const [serving] = await world.running('probed');
    await assert.rejects(dockerCli(['exec', serving!.id, '/bin/sh', '-c', 'true']), /sh/, 'the image has no shell');

    await world.writeManifest('probed', { tag: 'v2', replicas: 2, checks: { exec: [probe] } });
    const degraded = await eventually(
      async () => (await world.status()).find((s) => s.app === 'probed' && s.phase === 'Degraded'),
      60_000,
      'Degraded',
    );
    assert.match(
      degraded.lastError ?? '',
      /check \["\/bin\/busybox","wget",.*\] in .* failed after 3 attempts: exit code 1: wget: server returned error: HTTP\/1\.[01] 404/,
    );
    assert.equal((await httpGet(serving!.port!)).body, 'probed v1', 'v1 still serves');
    assert.equal(
      (await world.running('probed')).filter((c) => c.imageId === ids.v1).length,
      2,
      'both v1 replicas still run',
    );
  });
});
