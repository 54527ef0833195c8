/**
 * Safe releases on the real engine: the release step (once per revision, across a berth killed
 * mid-release), a failing release, the post-deploy command, and a revision that crashes after the
 * switch rolled back through nginx, held, and tried again with `berth retry`.
 */
import { strict as assert } from 'node:assert';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage, dockerCli } from '../../support/docker.js';
import { PrivateNginx } from '../../support/nginx.js';
import { startLoad } from '../../support/load.js';
import { Scenario } from '../../support/scenario.js';

describe('berth run: release step, post-deploy, watch and rollback (real engine)', function () {
  this.timeout(180_000);
  let world: Scenario;
  let volume: string;
  const SECRET = 'hunter2-never-shown';

  before(async () => {
    world = await Scenario.create();
    volume = `${world.namespace}-data`;
    for (const tag of ['v1', 'v2', 'v3']) await buildTestImage(`${world.namespace}/web`, tag, { body: `web ${tag}` });
  });
  // A test that fails leaves no berth running to hold the namespace's lock for the next.
  afterEach(async () => {
    await world.killProcesses();
  });
  after(async () => {
    await world.cleanup();
    await dockerCli(['volume', 'rm', '-f', volume]).catch(() => undefined);
  });

  const spec = (tag: string, releaseCommand: string[], extra: Record<string, unknown> = {}) => ({
    tag,
    env: { DB_PASSWORD: SECRET },
    volumes: [{ source: volume, target: '/data' }],
    checks: { http: [{ path: '/health', content: 'ok', wait: 0, attempts: 20, timeout: 1 }] },
    deploy: { retireAfter: 1 },
    release: { command: releaseCommand, timeout: 60 },
    ...extra,
  });
  /** The lines the release steps appended to the shared volume, read through a running container. */
  const releasesRun = async () => {
    const [running] = await world.running('web');
    return (await dockerCli(['exec', running!.id, '/bin/busybox', 'cat', '/data/releases']).catch(() => ''))
      .split('\n')
      .filter(Boolean).length;
  };
  const web = async () => (await world.status()).find((a) => a.app === 'web');
  const history = async () =>
    JSON.parse((await world.cli(['history', 'web', '--json'])).stdout) as {
      tag: string;
      outcome: string;
      reason?: string;
      output?: string;
      postDeploy?: string;
    }[];

  it('runs the release step once per revision, before the new containers start; a berth killed mid-release waits for it on restart', async () => {
    await world.writeManifest('web', spec('v1', ['sh', '-c', 'echo ran >> /data/releases']));
    let berth: BerthProcess = world.start();
    await eventually(async () => (await web())?.phase === 'Running', 60_000, 'v1 Running');
    assert.equal(await releasesRun(), 1);

    await world.writeManifest(
      'web',
      spec('v2', ['sh', '-c', '/bin/busybox sleep 4; echo ran >> /data/releases'], {
        postDeploy: { command: ['sh', '-c', 'test -f /data/releases'] },
      }),
    );
    await eventually(
      async () =>
        (
          await dockerCli([
            'ps',
            '-q',
            '--filter',
            'label=berth.role=release',
            '--filter',
            `label=berth.namespace=${world.namespace}`,
          ])
        ).trim() !== '',
      30_000,
      'the release container running',
    );
    assert.deepEqual(
      (await world.containers('web')).filter((c) => !c.name.includes('.release.')).map((c) => c.imageId),
      [await world.imageId(`${world.namespace}/web:v1`)],
      'no new container before the release step ends',
    );
    await berth.stop('SIGKILL');
    const plan = await world.cli(['plan', '--manifests', world.manifests]);
    assert.match(
      plan.stdout,
      /▶ release \["sh","-c","\/bin\/busybox sleep 4; echo ran >> \/data\/releases"\] in a one-off container of [0-9a-f]{12} \(timeout 60s\)/,
    );

    berth = world.start();
    await berth.waitForLog((l) => /already under way; waiting for it/.test(l.msg), 30_000);
    await eventually(
      async () => (await web())?.running.tag === 'v2' && (await web())?.phase === 'Running',
      60_000,
      'v2 Running',
    );
    assert.equal(await releasesRun(), 2, 'the release of v2 ran once, though two berths deployed it');
    assert.equal((await history())[0]?.postDeploy, 'succeeded');
    assert.equal(await berth.stop(), 0);

    berth = world.start();
    await eventually(async () => (await web())?.phase === 'Running', 30_000, 'Running after a restart');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(await releasesRun(), 2, 'a restart releases nothing');
    assert.ok(!berth.logs.some((l) => l.step === 'release-step'), 'no release step on a restart');
    assert.deepEqual(
      JSON.parse(
        (await dockerCli([
          'ps',
          '-a',
          '--format',
          '{{json .Names}}',
          '--filter',
          `label=berth.role=release`,
          '--filter',
          `label=berth.namespace=${world.namespace}`,
        ])) || '[]',
      ),
      [],
      'release containers are removed',
    );
    assert.equal(await berth.stop(), 0);
  });

  it('a failing release keeps the old revision serving, keeps its output (secrets redacted) in history, and holds it until berth retry', async () => {
    const before = (await world.running('web')).map((c) => c.id);
    await world.writeManifest(
      'web',
      spec('v3', ['sh', '-c', `echo applying 0042; echo password is $DB_PASSWORD; exit 3`]),
    );
    const berth = world.start();
    const degraded = await eventually(
      async () => {
        const status = await web();
        return status?.phase === 'Degraded' && /held/.test(status.message) ? status : undefined;
      },
      60_000,
      'Degraded and held',
    );
    assert.match(
      degraded.message,
      /\/web:v3 is held after it failed \(the release step .* exited with code 3\); the previous revision keeps serving until the manifest changes or `berth retry web`/,
    );
    const [failed] = await history();
    assert.equal(`${failed?.tag} ${failed?.outcome}`, 'v3 failed');
    assert.match(failed?.output ?? '', /applying 0042\npassword is <redacted>/);
    assert.ok(!JSON.stringify(await history()).includes(SECRET), 'the env value never reaches history');
    const now = await world.running('web');
    assert.deepEqual(
      now.map((c) => c.id),
      before,
      `v2 untouched: ${JSON.stringify(now.map((c) => c.name))}\n${berth.tail(30)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.equal(
      berth.logs.filter((l) => l.step === 'release-step' && /^Running the release step/.test(l.msg)).length,
      1,
      'not run again by itself',
    );

    const retry = await world.cli(['retry', 'web']);
    assert.equal(retry.code, 0, retry.stderr);
    await berth.waitForLog((l) => l.step === 'retry', 10_000);
    await eventually(
      async () =>
        berth.logs.filter((l) => l.step === 'release-step' && /^Running the release step/.test(l.msg)).length === 2,
      30_000,
      'the release run again on retry',
    );
    assert.equal(await berth.stop(), 0);
  });

  it('a revision that crashes after the switch is rolled back through nginx within a second or two, no request refused (the old containers are backups), old containers untouched, with no redeploy loop', async () => {
    const nginx = await PrivateNginx.start();
    let load: ReturnType<typeof startLoad> | undefined;
    try {
      await buildTestImage(`${world.namespace}/shop`, 'good', { body: 'good' });
      await buildTestImage(`${world.namespace}/shop`, 'crashy', {
        body: 'crashy',
        command: '/bin/busybox httpd -f -p 8080 -h /www & /bin/busybox sleep 4; exit 7',
      });
      const shop = (tag: string) => ({
        tag,
        replicas: 1,
        domains: ['shop.example.test'],
        checks: { http: [{ path: '/health', content: 'ok', wait: 0, attempts: 20, timeout: 1 }] },
        deploy: { retireAfter: 1, monitor: 30 },
      });
      await world.writeManifest('shop', shop('good'));
      const berth = world.start(nginx.berthFlags());
      await eventually(
        async () => (await nginx.get('shop.example.test')).body === 'good',
        60_000,
        'good through nginx',
      );
      const good = (await world.running('shop')).map((c) => c.id).sort();
      await nginx.settled();
      // Clients on loopback through the whole deploy, the crash and the return: while deploy.monitor
      // watches crashy, the good containers stay behind it as nginx backups, so the crash costs no request.
      load = startLoad(
        () => nginx.get('shop.example.test', '/', 10_000),
        (body) => body === 'good' || body === 'crashy',
      );

      await world.writeManifest('shop', shop('crashy'));
      await eventually(
        async () => (await nginx.get('shop.example.test')).body === 'crashy',
        60_000,
        'crashy took traffic',
      );
      const switched = Date.now();
      const rolledBack = await berth.waitForLog((l) => l.step === 'rollback' && /^Rolled back/.test(l.msg), 30_000);
      assert.match(
        rolledBack.msg,
        /^Rolled back: traffic is on the previous revision again; .*shop.* (exited and was restarted by the engine|stopped) .*within deploy\.monitor \(30s\) after the switch$/,
      );
      assert.ok(Date.now() - switched < 15_000);
      // nginx's old workers finish what they hold after the reload: the next requests get the old revision.
      await eventually(
        async () => (await nginx.get('shop.example.test')).body === 'good',
        3_000,
        'good again through nginx',
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const served = await load.stop();
      assert.ok(served.requests > 100, `load ran (${served.requests} requests)`);
      // A response the crash cut mid-answer cannot be retried by any proxy (nginx had begun sending
      // it); every other request is answered: without the backups, over a thousand got 502 here.
      const cut = served.failures.filter((f) => f.reason === 'aborted');
      assert.deepEqual(
        served.failures.filter((f) => f.reason !== 'aborted').slice(0, 3),
        [],
        `${served.failures.length} of ${served.requests} requests failed across the crash and the rollback`,
      );
      assert.ok(cut.length <= 2, `${cut.length} responses cut mid-answer by the crash`);
      await eventually(
        async () =>
          (await world.running('shop'))
            .map((c) => c.id)
            .sort()
            .join() === good.join(),
        20_000,
        'the old containers alone, the very same ones',
      );
      const status = await eventually(
        async () => (await world.status()).find((a) => a.app === 'shop' && /held/.test(a.message)),
        10_000,
        'held',
      );
      assert.equal(status.phase, 'Degraded');
      const shopHistory = JSON.parse((await world.cli(['history', 'shop', '--json'])).stdout) as {
        tag: string;
        outcome: string;
      }[];
      assert.equal(`${shopHistory[0]?.tag} ${shopHistory[0]?.outcome}`, 'crashy rolled_back');
      assert.equal(
        await world.imageId(`${world.namespace}/shop:latest`),
        await world.imageId(`${world.namespace}/shop:good`),
        'latest points back at good',
      );

      await new Promise((resolve) => setTimeout(resolve, 4_000));
      assert.equal(
        berth.logs.filter((l) => l.app === 'shop' && l.step === 'deploy').length,
        2,
        'no deploy/rollback loop',
      );
      assert.equal((await world.containers('shop')).length, 1);
      assert.equal(await berth.stop(), 0);
    } finally {
      await load?.stop();
      await nginx.stop();
    }
  });
});
