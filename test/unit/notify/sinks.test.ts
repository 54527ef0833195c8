import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { chatLine, chatText } from '../../../src/events/format.js';
import { everyEvent } from '../../../src/events/filter.js';
import type { BerthEvent } from '../../../src/events/types.js';
import { createPrometheusMetrics } from '../../../src/metrics/prometheus.js';
import { Notifier } from '../../../src/notify/notifier.js';
import { safeUrl, sinkName, webhookSink } from '../../../src/notify/sinks.js';
import { FakeClock } from '../../support/fake-clock.js';

const TOKEN = 'tok3nS3cretXyz';

const event = (message: string, app = 'web'): BerthEvent => ({
  id: 'e1',
  type: 'deploy.failed',
  time: '2026-01-01T00:00:00.000Z',
  namespace: 'prod',
  app,
  message,
  details: {},
});

describe('notification URLs are shown by kind, scheme and host only', () => {
  it('hides every path, query, userinfo and fragment: Slack, Discord, ntfy, Teams, generic hooks, access tokens', () => {
    const cases: [string, string][] = [
      [`https://hooks.slack.com/services/T0/B0/${TOKEN}`, 'https://hooks.slack.com'],
      [`https://discord.com/api/webhooks/123/${TOKEN}`, 'https://discord.com'],
      [`https://ntfy.sh/${TOKEN}`, 'https://ntfy.sh'],
      [
        `https://example.webhook.office.com/webhookb2/${TOKEN}@x/IncomingWebhook/${TOKEN}/y`,
        'https://example.webhook.office.com',
      ],
      [`https://hooks.example.com/berth/${TOKEN}?x=1`, 'https://hooks.example.com'],
      [`https://api.example.com/notify?access_token=${TOKEN}`, 'https://api.example.com'],
      [`http://user:${TOKEN}@127.0.0.1:8080/hook#${TOKEN}`, 'http://127.0.0.1:8080'],
    ];
    for (const [url, shown] of cases) {
      assert.equal(safeUrl(url), shown);
      assert.ok(!sinkName('webhook', url).includes(TOKEN));
    }
    assert.equal(sinkName('slack', `https://hooks.slack.com/services/T0/B0/${TOKEN}`), 'slack+https://hooks.slack.com');
    assert.equal(sinkName('webhook', `https://ntfy.sh/${TOKEN}`), 'https://ntfy.sh');
    assert.equal(safeUrl('not a url'), 'an invalid URL');
  });
});

describe("chat lines: anyone's words made inert", () => {
  const hostile = `bump \u001b[31mred\u001b[0m\u0007 <!channel> <@U123> <https://evil.test|click> @here @everyone a&b ops@example.com`;

  it('Slack and Mattermost: no control characters; &, < and > escaped; every @mention broken', () => {
    for (const dialect of ['slack', 'mattermost'] as const) {
      const line = chatLine(event(hostile), 'https://berth.example.test', dialect);
      assert.doesNotMatch(line, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
      assert.ok(!line.includes('<!channel>') && !line.includes('<@U123>') && !line.includes('<https://evil'));
      assert.ok(line.includes('&lt;!channel&gt;') && line.includes('&lt;@\u200bU123&gt;') && line.includes('a&amp;b'));
      assert.ok(line.includes('@\u200bhere') && line.includes('@\u200beveryone'));
      assert.ok(line.includes('ops@example.com'), 'an address is no mention');
      assert.ok(line.endsWith(' — <https://berth.example.test/#app-web|status>'), "berth's own link stays a link");
      assert.ok(line.startsWith('❌ *web* (prod): bump red '));
    }
  });

  it('Discord: markdown escaped, mentions broken (and the payload allows none)', () => {
    const line = chatLine(event(hostile), 'https://berth.example.test', 'discord');
    assert.doesNotMatch(line, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    assert.ok(line.startsWith('❌ **web** (prod): bump red '));
    assert.ok(line.includes('@\u200beveryone') && line.includes('\\<@\u200bU123\\>'));
    assert.ok(line.endsWith(' — [status](<https://berth.example.test/#app-web>)'));
    assert.equal(
      chatText('*bold* _it_ `code` ||spoiler|| [x](y)', 'discord'),
      '\\*bold\\* \\_it\\_ \\`code\\` \\|\\|spoiler\\|\\| \\[x\\](y)',
    );
    assert.ok(chatLine(event('x'.repeat(5000)), undefined, 'discord').length <= 2000);
  });

  it('keeps the lines of a multi-line message, and tabs', () => {
    assert.equal(chatText('a\r\nb\tc\u009b2Jd', 'slack'), 'a\nb\tcd');
  });
});

describe('webhook sinks deliver inert payloads and never say their URL', () => {
  let server: Server;
  let port: number;
  let status = 204;
  const bodies: { path: string; body: string }[] = [];

  before(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        bodies.push({ path: request.url ?? '', body });
        response.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('posts Discord {content, allowed_mentions: {parse: []}}, Slack {text}, and the event itself to a JSON webhook', async () => {
    status = 204;
    const base = `http://127.0.0.1:${port}`;
    await webhookSink({ url: `${base}/discord/${TOKEN}`, filter: everyEvent, kind: 'discord', now: () => 0 }).deliver(
      event('<@123> @everyone'),
    );
    await webhookSink({ url: `${base}/slack/${TOKEN}`, filter: everyEvent, kind: 'slack', now: () => 0 }).deliver(
      event('<!channel>'),
    );
    await webhookSink({ url: `${base}/hook/${TOKEN}`, filter: everyEvent, kind: 'webhook', now: () => 0 }).deliver(
      event('<!channel>'),
    );
    const [discord, slack, json] = bodies.slice(-3).map((b) => JSON.parse(b.body));
    assert.deepEqual(discord.allowed_mentions, { parse: [] });
    assert.equal(discord.content, '❌ **web** (prod): \\<@\u200b123\\> @\u200beveryone');
    assert.deepEqual(slack, { text: '❌ *web* (prod): &lt;!channel&gt;' });
    assert.equal(json.message, '<!channel>', 'a JSON webhook gets the data as it is');
  });

  it("sends a URL's user and password as basic auth (an ntfy topic's), not in the URL", async () => {
    status = 204;
    const received: string[] = [];
    server.once('request', (request) => received.push(String(request.headers.authorization)));
    await webhookSink({
      url: `http://ops:${encodeURIComponent(`${TOKEN}:@`)}@127.0.0.1:${port}/alerts`,
      filter: everyEvent,
      kind: 'webhook',
      now: () => 0,
    }).deliver(event('x'));
    assert.deepEqual(received, [`Basic ${Buffer.from(`ops:${TOKEN}:@`).toString('base64')}`]);
    assert.equal(bodies.at(-1)?.path, '/alerts');
  });

  it('a failing receiver: the logs, the error and /metrics name the sink by its host, never its path or token', async () => {
    status = 400;
    let logged = '';
    const logger = pino(
      { level: 'debug' },
      new Writable({ write: (chunk, _encoding, done) => ((logged += String(chunk)), done()) }),
    );
    const metrics = createPrometheusMetrics({
      phases: () => [],
      queueDepth: () => 0,
      manifestErrors: () => 0,
      stateWritable: () => true,
    });
    // A port nothing listens on.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const refusing = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const sinks = [
      webhookSink({
        url: `http://127.0.0.1:${port}/hooks/${TOKEN}?access_token=${TOKEN}`,
        filter: everyEvent,
        kind: 'webhook',
        now: () => 0,
      }),
      webhookSink({
        url: `http://127.0.0.1:${refusing}/refused/${TOKEN}`,
        filter: everyEvent,
        kind: 'slack',
        now: () => 0,
      }),
    ];
    const notifier = new Notifier({
      namespace: 'prod',
      clock: new FakeClock(),
      logger,
      sinks,
      metrics: metrics.notify,
    });
    notifier.emit({ type: 'deploy.failed', app: 'web', message: 'failed' });
    for (let i = 0; i < 50 && !/given up/.test(logged); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    const text = await metrics.registry.metrics();
    assert.match(
      text,
      new RegExp(`^berth_notifications_total\\{sink="http://127.0.0.1:${port}",result="failed"\\} 1$`, 'm'),
    );
    assert.match(
      logged,
      new RegExp(`could not deliver deploy.failed to http://127.0.0.1:${port}: http://127.0.0.1:${port}: HTTP 400`),
    );
    assert.match(
      logged,
      new RegExp(
        `delivering deploy.failed to slack\\+http://127.0.0.1:${refusing} failed \\(slack\\+http://127.0.0.1:${refusing}: ECONNREFUSED\\)`,
      ),
    );
    notifier.stop();
    for (const said of [text, logged]) {
      assert.ok(!said.includes(TOKEN), `no token in: ${said}`);
      assert.ok(!said.includes('/hooks/') && !said.includes('/refused'), 'no path');
    }
  });
});
