import { strict as assert } from 'node:assert';
import { request } from 'node:http';
import { StatusServer } from '../../../src/http/server.js';
import { createPrometheusMetrics } from '../../../src/metrics/prometheus.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
import { FakeClock } from '../../support/fake-clock.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The server's Host check and request budget, over loopback HTTP; time is a fake clock, so the budget refills only when the test says. */
describe('StatusServer guard: Host names and the request budget (loopback HTTP, no engine)', () => {
  let server: StatusServer;
  let port: number;
  let clock: FakeClock;
  let metrics: ReturnType<typeof createPrometheusMetrics>;
  let snapshots: number;
  let pushes: number;

  beforeEach(async () => {
    clock = new FakeClock();
    snapshots = 0;
    pushes = 0;
    metrics = createPrometheusMetrics({ phases: () => [], queueDepth: () => 0, manifestErrors: () => 0, stateWritable: () => true });
    server = new StatusServer({
      namespace: 'dokku',
      readiness: () => ({ ready: true, reasons: [], engineReachable: true }),
      snapshot: async () => (snapshots++, { apps: [] }),
      onChange: () => () => undefined,
      metrics: metrics.registry,
      clock,
      logger: silentLogger(),
      gitWebhook: { secret: 's3cret', branch: 'main', onPush: () => pushes++ },
      limits: { hosts: ['berth.example.com'], ratePerMinute: 5 },
    });
    port = (await server.listen({ host: '127.0.0.1', port: 0 })).port;
  });
  afterEach(async () => server.close());

  const send = (path: string, host: string, method = 'GET') =>
    new Promise<Answer>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method, headers: { host }, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  const refusedCount = async (reason: string) => Number(new RegExp(`^berth_http_refused_total\\{reason="${reason}"\\} (\\S+)$`, 'm').exec(await metrics.registry.metrics())?.[1]);

  it('refuses a foreign Host on the page, /api, /events, /metrics and unknown paths with a one-line 421, asking nothing', async () => {
    for (const path of ['/', '/api/apps', '/api/apps/web', '/api/events', '/events', '/metrics', '/nope']) {
      const answer = await send(path, `evil.example:${port}`);
      assert.equal(answer.status, 421, path);
      assert.equal(answer.body, 'misdirected request: Host "evil.example:9999" is not a name of this server (add one with --listen-host NAME)\n'.replace('9999', String(port)));
    }
    assert.equal(snapshots, 0, 'no snapshot was made for a refused request');
    assert.equal(await refusedCount('host'), 7);
  });

  it('answers the names of --listen, localhost on loopback, IP literals and --listen-host', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `berth.example.com:${port}`, '[::1]:9', '192.168.1.5']) {
      assert.equal((await send('/api/apps', host)).status, 200, host);
      await clock.advance(60_000);
    }
  });

  it('keeps /healthz, /readyz and /hooks/git reachable whatever the Host (the webhook checks its signature)', async () => {
    assert.equal((await send('/healthz', 'evil.example')).status, 200);
    assert.equal((await send('/readyz', 'evil.example')).status, 200);
    const hook = await send('/hooks/git', 'evil.example', 'POST');
    assert.equal(hook.status, 401, 'an unsigned push is refused by its signature, not by its Host');
    assert.equal(pushes, 0);
  });

  it('gives each client its budget, then 429 with Retry-After; the probes are outside it', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await send('/api/apps', `127.0.0.1:${port}`)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
    const refused = await send('/metrics', `127.0.0.1:${port}`);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '12');
    assert.equal(refused.body, 'too many requests from this address (more than 5 a minute); retry in 12 s\n');
    assert.equal((await send('/healthz', `127.0.0.1:${port}`)).status, 200);
    assert.equal((await send('/readyz', `127.0.0.1:${port}`)).status, 200);
    assert.equal(await refusedCount('rate'), 3);
    await clock.advance(12_000);
    assert.equal((await send('/api/apps', `127.0.0.1:${port}`)).status, 200, 'one more after 60/5 s');
    assert.equal((await send('/api/apps', `127.0.0.1:${port}`)).status, 429);
  });

  it('spends no budget on refused Hosts: a rebinding page cannot use up local clients\' requests', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await send('/api/apps', 'evil.example')).status, 421);
    assert.equal((await send('/api/apps', `127.0.0.1:${port}`)).status, 200);
  });
});
