/**
 * The status page in headless Chromium against a status server whose state the test sets (no
 * engine): /events sends the table once, then what changed, and the page applies it in place.
 */
import { strict as assert } from 'node:assert';
import { chromium, type Browser, type Page } from 'playwright-core';
import { StatusServer } from '../../../src/http/server.js';
import { createPrometheusMetrics } from '../../../src/metrics/prometheus.js';
import { appStatus, type AppStatus } from '../../../src/status/app-status.js';
import type { AppRecord } from '../../../src/state/types.js';
import type { BerthEvent } from '../../../src/events/types.js';
import { systemClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/silent-logger.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

describe('the status page applies what /events sends in place (headless Chromium, no engine)', function () {
  this.timeout(60_000);
  let server: StatusServer;
  let browser: Browser;
  let page: Page;
  let port: number;
  let apps: AppStatus[];
  let events: BerthEvent[];
  const listeners = new Set<() => void>();
  const frames: string[] = [];
  const changed = () => {
    for (const listener of listeners) listener();
  };
  const commit = {
    sha: 'c0ffee1234567890c0ffee1234567890c0ffee12',
    subject: 'bump web to v2',
    author: 'A',
    time: '2026-01-01T00:00:00Z',
  };
  const t0 = Date.now();
  const app = (name: string, patch: Partial<AppRecord> = {}) =>
    appStatus(
      name,
      {
        phase: 'Running',
        message: `${name} running`,
        since: t0 - 60_000,
        desiredTag: 'v1',
        servingRevision: 'r1',
        history: [
          {
            at: t0 - 90_000,
            tag: 'v1',
            image: `dokku/${name}`,
            imageId: 'sha256:aa',
            revision: 'r1',
            outcome: 'succeeded',
            durationMs: 1000,
            commit,
          },
        ],
        ...patch,
      },
      [],
    );
  let seq = 0;
  const event = (name: string, message: string): BerthEvent => ({
    id: `e${++seq}`,
    type: 'drift.repaired',
    time: new Date().toISOString(),
    namespace: 'dokku',
    app: name,
    message,
    details: {},
  });

  before(async () => {
    apps = [app('api'), app('web')];
    events = [event('web', 'repaired: created web-1')];
    server = new StatusServer({
      namespace: 'dokku',
      readiness: () => ({ ready: true, reasons: [], engineReachable: true }),
      snapshot: async () => ({ apps, events }),
      onChange: (listener) => (listeners.add(listener), () => listeners.delete(listener)),
      metrics: createPrometheusMetrics({
        phases: () => [],
        queueDepth: () => 0,
        manifestErrors: () => 0,
        stateWritable: () => true,
      }).registry,
      clock: systemClock,
      logger: silentLogger(),
    });
    port = (await server.listen({ host: '127.0.0.1', port: 0 })).port;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage();
    // Every frame the page receives, as the test's record of the traffic.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    cdp.on('Network.eventSourceMessageReceived', (message: { eventName: string; data: string }) =>
      frames.push(`${message.eventName} ${message.data}`),
    );
    page.on('pageerror', (error) => console.log(`      page error: ${error.message}`));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Whether the element `selector` finds is the one `mark` marked (the same DOM node, not a copy). */
  const marked = (selector: string) =>
    page.locator(selector).evaluate((element) => (element as unknown as { marker?: boolean }).marker === true);
  const mark = (selector: string) =>
    page.locator(selector).evaluate((element) => void Object.assign(element, { marker: true }));

  it('updates a changed row in place: the same element, its details left open, the other rows untouched', async () => {
    await page.locator('#app-web--history summary').click();
    await mark('#app-web');
    await mark('#app-api');
    await mark('#app-api td.desired');
    const before = frames.length;
    apps = [app('api'), app('web', { phase: 'Deploying', message: 'deploying dokku/web:v2', desiredTag: 'v2' })];
    changed();
    await page.locator('#app-web[data-phase="Deploying"]').waitFor({ timeout: 5_000 });
    assert.match(await page.locator('#app-web td.desired').innerText(), /^v2\n/);
    assert.equal(await page.locator('#app-web .message-head').innerText(), 'deploying dokku/web:v2');
    assert.ok(await marked('#app-web'), 'the row is the same element');
    assert.ok((await marked('#app-api')) && (await marked('#app-api td.desired')), 'another row untouched');
    assert.equal(
      await page.locator('#app-web--history').getAttribute('open'),
      '',
      'the history the reader opened stays open',
    );
    assert.match(
      await page.locator('#live-summary').innerText(),
      /2 apps:\s+1 Deploying\s+1 Running\s+updated \d\d:\d\d:\d\d UTC/,
    );
    const sent = frames.slice(before);
    assert.deepEqual(
      sent.map((f) => f.split(' ')[0]),
      ['patch'],
      'one patch',
    );
    assert.doesNotMatch(sent[0] ?? '', /app-api/, 'nothing about the app that did not change');
  });

  it("adds a new app's row in order and removes a gone app's row", async () => {
    apps = [app('api'), app('queue', { phase: 'Pending', message: 'waiting for dokku/queue:v1' }), app('web')];
    changed();
    await page.locator('#app-queue').waitFor({ timeout: 5_000 });
    assert.deepEqual(await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.id)), [
      'app-api',
      'app-queue',
      'app-web',
    ]);
    apps = [app('queue'), app('web')];
    changed();
    await page.locator('#app-api').waitFor({ state: 'detached', timeout: 5_000 });
    assert.deepEqual(await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.id)), [
      'app-queue',
      'app-web',
    ]);
    assert.match(await page.locator('#live-summary').innerText(), /^2 apps:\s+2 Running\s/);
  });

  it("puts a new event at the head of the timeline and of its app's events; writes every age itself", async () => {
    events = [...events, event('queue', 'repaired: created queue-1')];
    changed();
    await page
      .locator('#live-timeline li')
      .first()
      .filter({ hasText: 'repaired: created queue-1' })
      .waitFor({ timeout: 5_000 });
    assert.equal(await page.locator('#app-queue--events summary').innerText(), 'events (1)');
    assert.equal(await page.locator('#live-timeline li').count(), 2);
    const ages = await page
      .locator('time[data-ago]')
      .evaluateAll((times) => times.map((time) => time.textContent ?? ''));
    assert.ok(
      ages.length >= 4 && ages.every((text) => /^(\d+ seconds? ago|About a minute ago|\d+ minutes? ago)$/.test(text)),
      ages.join(', '),
    );
    assert.match(await page.locator('#app-web td.desired').innerText(), /c0ffee1 bump web to v2/);
    // An event that leaves the timeline leaves its app's list: the count and the list's tail follow.
    events = [...events, event('web', 'repaired: created web-2')];
    changed();
    await page.locator('#app-web--events summary', { hasText: 'events (2)' }).waitFor({ timeout: 5_000 });
    events = events.filter((e) => e.message !== 'repaired: created web-1');
    changed();
    await page.locator('#app-web--events summary', { hasText: 'events (1)' }).waitFor({ timeout: 5_000 });
    assert.deepEqual(
      await page
        .locator('#app-web--events li')
        .evaluateAll((items) => items.map((li) => li.textContent?.replace(/^.* ago /, ''))),
      ['drift.repaired repaired: created web-2'],
    );
  });

  it('takes the whole part again when the table goes and comes back', async () => {
    apps = [];
    changed();
    await page.locator('.empty').waitFor({ timeout: 5_000 });
    apps = [app('web')];
    changed();
    await page.locator('#app-web').waitFor({ timeout: 5_000 });
    assert.equal(await page.locator('tbody tr').count(), 1);
  });

  it('without JavaScript: the rows, their ages written by the server, and a reload every 5 s', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const plain = await context.newPage();
      await plain.goto(`http://127.0.0.1:${port}/`);
      assert.equal(await plain.locator('#app-web td.desired').innerText(), 'v1\nc0ffee1 bump web to v2');
      assert.match(await plain.locator('#app-web td.age').innerText(), /ago$/);
      assert.equal(await plain.locator('meta[http-equiv="refresh"]').getAttribute('content'), '5');
      assert.equal(await plain.locator('#connection').innerText(), 'live updates need JavaScript; reloading every 5 s');
    } finally {
      await context.close();
    }
  });
});
