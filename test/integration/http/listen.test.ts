import { strict as assert } from 'node:assert';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { eventually, runCli, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage, httpGet } from '../../support/docker.js';
import { freePort } from '../../support/nginx.js';
import { Scenario } from '../../support/scenario.js';

/** Debian's chromium; CHROMIUM overrides it. */
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots land here (git-ignored); CI keeps the directory as the run's artifacts. */
const ARTIFACTS = resolve(process.env.BERTH_TEST_ARTIFACTS ?? 'test-artifacts');

interface ApiApp {
  app: string;
  desiredTag: string | null;
  phase: string;
  running: { tag: string | null; imageId: string | null; containers: { name: string; state: string }[] };
  conditions: { type: string; status: string }[];
  history: { tag: string; outcome: string; revision: string }[];
  lastError: string | null;
}

/** One controller with `--listen`, serving two apps; every endpoint is read over loopback HTTP. */
describe('berth run --listen: health, readiness, metrics, API and the status page (real engine)', function () {
  this.timeout(120_000);
  let world: Scenario;
  let berth: BerthProcess;
  let port: number;
  const ids: Record<string, string> = {};
  const get = (path: string) => httpGet(port, path, 5_000);
  const api = async <T>(path: string) => JSON.parse((await get(path)).body) as T;

  before(async () => {
    world = await Scenario.create();
    for (const tag of ['v1', 'v2'])
      ids[tag] = await buildTestImage(`${world.namespace}/web`, tag, { body: `web ${tag}` });
    await world.writeManifest('web', { tag: 'v1', env: { API_TOKEN: 'hunter2-never-shown' } });
    await world.writeManifest('broken', { image: `127.0.0.1:5000/${world.namespace}/broken`, tag: 'no-such-tag' });
    await writeFile(
      join(world.manifests, 'half-written.yaml'),
      'apiVersion: berth/v1\nkind: App\nmetadata: {name: [unclosed\n',
    );
    port = await freePort();
    berth = world.start(['--listen', `127.0.0.1:${port}`]);
    await berth.waitForLog((l) => l.source === 'http', 30_000);
  });
  after(async () => world.cleanup());

  it('/healthz answers while the process runs; /readyz once the initial sync is done', async () => {
    assert.deepEqual(await get('/healthz'), { status: 200, body: 'ok\n' });
    const ready = await eventually(
      async () => {
        const response = await get('/readyz');
        return response.status === 200 && response;
      },
      30_000,
      '/readyz to answer 200',
    );
    assert.equal(ready.body, 'ok\n');
  });

  it('/api/apps and /api/apps/NAME: desired tag, running image and containers, phase, conditions, history; 404 for an unknown app', async () => {
    const web = await eventually(
      async () => {
        const app = await api<ApiApp>('/api/apps/web');
        return app.phase === 'Running' && app;
      },
      30_000,
      'web Running in /api/apps/web',
    );
    assert.equal(web.desiredTag, 'v1');
    assert.equal(web.running.tag, 'v1');
    assert.equal(web.running.imageId, ids.v1);
    assert.deepEqual(
      web.running.containers.map((c) => c.state),
      ['running'],
    );
    assert.deepEqual(
      web.conditions.map((c) => `${c.type}=${c.status}`),
      ['Available=True', 'Progressing=False', 'UpToDate=True'],
    );
    assert.deepEqual(
      web.history.map((h) => `${h.tag} ${h.outcome}`),
      ['v1 succeeded'],
    );

    const all = await api<ApiApp[]>('/api/apps');
    assert.deepEqual(
      all.map((a) => a.app),
      ['broken', 'web'],
    );
    const broken = all.find((a) => a.app === 'broken');
    assert.equal(broken?.phase, 'Pending');
    assert.match(broken?.lastError ?? '', /no-such-tag/);
    assert.deepEqual(
      broken?.conditions.map((c) => `${c.type}=${c.status}`),
      ['Available=False', 'Progressing=False', 'UpToDate=False'],
    );

    const missing = await get('/api/apps/nope');
    assert.equal(missing.status, 404);
    assert.match((JSON.parse(missing.body) as { error: string }).error, /no app "nope"/);
    const everything = (await get('/api/apps')).body + (await get('/')).body + (await get('/metrics')).body;
    assert.ok(!everything.includes('hunter2-never-shown'), 'env values never reach the HTTP surface');
  });

  it('/metrics: Prometheus text with berth_* metrics and the default process metrics', async () => {
    const response = await get('/metrics');
    assert.equal(response.status, 200);
    const text = response.body;
    const value = (series: string) =>
      Number(new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.ok(
      value('berth_reconcile_total{app="web",result="success"}') >= 1,
      'a successful reconcile of web is counted',
    );
    assert.ok(
      value('berth_reconcile_total{app="broken",result="error"}') >= 1,
      'the failing reconcile of broken is counted',
    );
    assert.equal(value('berth_deploys_total{app="web",result="succeeded"}'), 1);
    assert.ok(value('berth_reconcile_duration_seconds_count') >= 2);
    assert.equal(value('berth_apps{phase="Running"}'), 1);
    assert.equal(value('berth_apps{phase="Pending"}'), 1);
    assert.equal(value('berth_workqueue_depth'), 0);
    assert.equal(value('berth_manifest_errors'), 1, 'the half-written file');
    assert.match(text, /^process_resident_memory_bytes \d+/m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  });

  it('/ is a status page that changes a row in place as a deploy goes through, adds and removes rows (headless Chromium)', async () => {
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      const page = await browser.newPage({ viewport: { width: 1200, height: 600 } });
      await page.goto(`http://127.0.0.1:${port}/`);
      const row = page.locator('#app-web');
      await row.locator('.phase', { hasText: 'Running' }).waitFor({ timeout: 15_000 });
      assert.equal(await row.locator('.desired').innerText(), 'v1');
      assert.match(await row.locator('.running').innerText(), /^v1/);
      assert.equal(await page.locator('#app-broken').getAttribute('data-phase'), 'Pending');
      assert.match(
        await page.locator('.problems').innerText(),
        /1 manifest problem[\s\S]*half-written\.yaml:\d+:\d+: invalid YAML/,
      );
      await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
      await page.evaluate(() => Object.assign(globalThis, { berthTestMarker: 'same page' }));
      // Rows are changed in place: the same elements before and after, the other row never touched.
      for (const selector of ['#app-web', '#app-broken', '#app-broken td.desired'])
        await page.locator(selector).evaluate((element) => void Object.assign(element, { berthTestMarker: true }));
      const same = (selector: string) =>
        page
          .locator(selector)
          .evaluate((element) => (element as unknown as { berthTestMarker?: boolean }).berthTestMarker === true);

      await world.writeManifest('web', { tag: 'v2', env: { API_TOKEN: 'hunter2-never-shown' }, checks: { wait: 2 } });
      await page.locator('#app-web[data-phase="Deploying"]').waitFor({ timeout: 20_000 });
      assert.equal(await row.locator('.desired').innerText(), 'v2');
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'status-page-deploying.png'), fullPage: true });

      await page.locator('#app-web[data-phase="Running"] .running', { hasText: 'v2' }).waitFor({ timeout: 30_000 });
      assert.match(await row.locator('details summary', { hasText: 'history' }).innerText(), /history \(2\)/);
      assert.equal(
        await page.evaluate(() => (globalThis as { berthTestMarker?: string }).berthTestMarker),
        'same page',
        'the page updated without reloading',
      );
      assert.ok(await same('#app-web'), 'the row of web was updated in place');
      assert.ok(
        (await same('#app-broken')) && (await same('#app-broken td.desired')),
        'the row of broken was left alone',
      );
      assert.match(await row.locator('time[data-ago]').first().innerText(), /ago$/, 'the page writes the ages');
      const screenshot = join(ARTIFACTS, 'status-page-running.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      console.log(`      screenshots: ${ARTIFACTS}/status-page-{deploying,running}.png`);

      // A new app adds its row, in order; an app whose manifest goes loses it.
      await world.writeManifest('extra', { image: `${world.namespace}/web`, tag: 'v1' });
      await page.locator('#app-extra[data-phase="Running"]').waitFor({ timeout: 30_000 });
      assert.deepEqual(await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.id)), [
        'app-broken',
        'app-extra',
        'app-web',
      ]);
      // (No app is removed while a file cannot be read: the half-written one goes first, and its banner with it.)
      await rm(join(world.manifests, 'half-written.yaml'));
      await page.locator('.problems').waitFor({ state: 'detached', timeout: 10_000 });
      await rm(join(world.manifests, 'extra.yaml'));
      await page.locator('#app-extra').waitFor({ state: 'detached', timeout: 30_000 });
      assert.deepEqual(await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.id)), [
        'app-broken',
        'app-web',
      ]);
      assert.ok(await same('#app-web'), 'still the same row');
    } finally {
      await browser?.close();
    }
  });

  it('a taken address: exit 1 with one line naming it', async () => {
    const other = ['--manifests', world.manifests, '--namespace', `${world.namespace}x`, '--state-dir', world.stateDir];
    const taken = await runCli(['run', ...other, '--listen', `127.0.0.1:${port}`]);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, new RegExp(`^berth: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*\n$`));
  });

  it('stops serving when berth stops', async () => {
    assert.equal(await berth.stop(), 0);
    await assert.rejects(get('/healthz'), /ECONNREFUSED/);
  });
});
