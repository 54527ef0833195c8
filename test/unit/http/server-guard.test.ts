import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
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
    metrics = createPrometheusMetrics({
      phases: () => [],
      queueDepth: () => 0,
      manifestErrors: () => 0,
      stateWritable: () => true,
    });
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
  const refusedCount = async (reason: string) =>
    Number(
      new RegExp(`^berth_http_refused_total\\{reason="${reason}"\\} (\\S+)$`, 'm').exec(
        await metrics.registry.metrics(),
      )?.[1],
    );

  it('refuses a foreign Host on the page, /api, /events, /metrics and unknown paths with a one-line 421, asking nothing', async () => {
    for (const path of ['/', '/api/apps', '/api/apps/web', '/api/events', '/events', '/metrics', '/nope']) {
      const answer = await send(path, `evil.example:${port}`);
      assert.equal(answer.status, 421, path);
      assert.equal(
        answer.body,
        'misdirected request: Host "evil.example:9999" is not a name of this server (add one with --listen-host NAME)\n'.replace(
          '9999',
          String(port),
        ),
      );
    }
    assert.equal(snapshots, 0, 'no snapshot was made for a refused request');
    assert.equal(await refusedCount('host'), 7);
  });

  it('answers the names of --listen, localhost on loopback, IP literals and --listen-host', async () => {
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      'localhost',
      `berth.example.com:${port}`,
      '[::1]:9',
      '192.168.1.5',
    ]) {
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

  const post = (body: Buffer, headers: Record<string, string>, chunked = false) =>
    new Promise<Answer>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/hooks/git',
          method: 'POST',
          headers: {
            host: 'github.example',
            ...headers,
            ...(chunked ? {} : { 'content-length': String(body.length) }),
          },
          agent: false,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        },
      );
      // The server may answer (and close) before the whole body is sent: what it answered is what counts.
      req.on('error', (error: NodeJS.ErrnoException) =>
        error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error),
      );
      if (chunked) {
        for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.subarray(at, at + 64 * 1024));
        req.end();
      } else req.end(body);
    });
  const github = (bytes: Buffer) => ({
    'x-hub-signature-256': `sha256=${createHmac('sha256', 's3cret').update(bytes).digest('hex')}`,
  });

  it('answers 413 to a webhook body over 1 MiB, with or without Content-Length, counted as refused{reason="body"}; 1 MiB itself is read', async () => {
    const limit = 1024 * 1024;
    const over = Buffer.alloc(limit + 1, 0x20);
    const sized = await post(over, { 'content-type': 'application/json', ...github(over) });
    assert.equal(sized.status, 413);
    assert.deepEqual(JSON.parse(sized.body), { error: 'request body over the 1 MiB limit' });
    assert.equal(
      (await post(over, { 'content-type': 'application/json', ...github(over) }, true)).status,
      413,
      'a chunked body is cut at the limit',
    );
    assert.equal(await refusedCount('body'), 2);
    const at = Buffer.alloc(limit, 0x20);
    assert.equal(
      (await post(at, { 'content-type': 'application/json', ...github(at) })).status,
      202,
      'exactly the limit is read and verified',
    );
    assert.equal(pushes, 1);
    assert.equal(await refusedCount('body'), 2);
  });

  it("filters GitHub's form-encoded pushes (payload=<json>) by branch as JSON ones: a push to another branch fetches nothing", async () => {
    const form = (ref: string) => Buffer.from(new URLSearchParams({ payload: JSON.stringify({ ref }) }).toString());
    const formType = { 'content-type': 'application/x-www-form-urlencoded' };
    const other = await post(form('refs/heads/other'), { ...formType, ...github(form('refs/heads/other')) });
    assert.deepEqual(
      [other.status, JSON.parse(other.body)],
      [202, { ignored: 'a push to refs/heads/other, not refs/heads/main' }],
    );
    const json = Buffer.from(JSON.stringify({ ref: 'refs/heads/other' }));
    assert.equal(
      JSON.parse((await post(json, { 'content-type': 'application/json', ...github(json) })).body).ignored,
      'a push to refs/heads/other, not refs/heads/main',
    );
    assert.equal(pushes, 0);
    const main = await post(form('refs/heads/main'), { ...formType, ...github(form('refs/heads/main')) });
    assert.deepEqual([main.status, JSON.parse(main.body)], [202, { fetching: true }]);
    assert.equal(pushes, 1);
    assert.equal(
      (await post(form('refs/heads/main'), { ...formType, ...github(form('refs/heads/other')) })).status,
      401,
      'signed over other bytes',
    );
    assert.equal(pushes, 1);
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

  it("spends no budget on refused Hosts: a rebinding page cannot use up local clients' requests", async () => {
    for (let i = 0; i < 20; i++) assert.equal((await send('/api/apps', 'evil.example')).status, 421);
    assert.equal((await send('/api/apps', `127.0.0.1:${port}`)).status, 200);
  });
});
