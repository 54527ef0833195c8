import { strict as assert } from 'node:assert';
import { request } from 'node:http';
import { StatusServer } from '../../../src/http/server.js';
import { parseListenAddress } from '../../../src/http/listen-address.js';
import { createPrometheusMetrics } from '../../../src/metrics/prometheus.js';
import type { Readiness } from '../../../src/controller/controller.js';
import { appStatus, type AppStatus } from '../../../src/status/app-status.js';
import { systemClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/silent-logger.js';

/** The server on a free loopback port with hand-set readiness and apps; HTTP over loopback, no Docker. */
describe('StatusServer (loopback HTTP, no engine)', () => {
  let server: StatusServer;
  let port: number;
  let readiness: Readiness;
  let apps: AppStatus[];
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };
  const running = (name: string, tag: string) =>
    appStatus(name, { phase: 'Running', message: `${tag} running`, since: 0, history: [], desiredTag: tag }, []);

  beforeEach(async () => {
    readiness = { ready: false, reasons: ['the initial sync has not finished'], engineReachable: true };
    apps = [running('web', 'v1')];
    server = new StatusServer({
      namespace: 'dokku',
      readiness: () => readiness,
      snapshot: async () => ({ apps }),
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
  });
  afterEach(async () => server.close());

  const get = (path: string) =>
    fetch(`http://127.0.0.1:${port}${path}`).then(async (response) => ({
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      body: await response.text(),
    }));

  it('/readyz says why it is not ready (503), then 200', async () => {
    assert.deepEqual(await get('/readyz'), {
      status: 503,
      type: 'text/plain; charset=utf-8',
      body: 'not ready:\n- the initial sync has not finished\n',
    });
    readiness = { ready: true, reasons: [], engineReachable: true };
    assert.equal((await get('/readyz')).status, 200);
    assert.equal((await get('/healthz')).body, 'ok\n');
  });

  it('/api/apps is JSON; an unknown app or route is a JSON 404', async () => {
    const all = await get('/api/apps');
    assert.match(all.type, /^application\/json/);
    assert.deepEqual(
      (JSON.parse(all.body) as AppStatus[]).map((a) => a.app),
      ['web'],
    );
    const missing = await get('/api/apps/api');
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body), { error: 'no app "api" in namespace "dokku"' });
    assert.equal((await get('/nope')).status, 404);
  });

  it('/metrics is the Prometheus text format', async () => {
    const metrics = await get('/metrics');
    assert.match(metrics.type, /^text\/plain; version=0\.0\.4/);
    assert.match(metrics.body, /^# TYPE berth_apps gauge$/m);
  });

  it('/events sends the live table at once, then what a change changed', async () => {
    const frames: string[] = [];
    const response = await new Promise<import('node:http').IncomingMessage>((resolve, reject) =>
      request({ host: '127.0.0.1', port, path: '/events' }, resolve).on('error', reject).end(),
    );
    assert.equal(response.headers['content-type'], 'text/event-stream; charset=utf-8');
    response.setEncoding('utf8');
    let buffer = '';
    const next = () =>
      new Promise<string>((resolve) => {
        const onData = (chunk: string) => {
          buffer += chunk;
          const at = buffer.search(/event: (live|patch)/);
          const end = buffer.indexOf('\n\n', at);
          if (at >= 0 && end >= 0) {
            response.off('data', onData);
            const frame = buffer.slice(at, end);
            buffer = buffer.slice(end + 2);
            resolve(frame);
          }
        };
        response.on('data', onData);
      });
    frames.push(await next());
    assert.match(frames[0] ?? '', /^event: live\ndata: /);
    assert.match(frames[0] ?? '', /data-phase="Running"/);
    apps = [running('web', 'v2')];
    changed();
    changed();
    frames.push(await next());
    // What changed only: web's desired cell and its message (a JSON patch).
    assert.match(frames[1] ?? '', /^event: patch\ndata: /);
    const patch = JSON.parse((frames[1] ?? '').slice('event: patch\ndata: '.length)) as {
      set: [string, number, string][];
    };
    assert.deepEqual(patch.set, [
      ['app-web', 2, '<td class="desired">v2</td>'],
      ['app-web', 5, '<div class="message-head">v2 running</div>'],
    ]);
    response.destroy();
  });

  it('parses HOST:PORT and [IPv6]:PORT, nothing else', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:9090'), { host: '127.0.0.1', port: 9090 });
    assert.deepEqual(parseListenAddress('[::1]:9090'), { host: '::1', port: 9090 });
    assert.deepEqual(parseListenAddress('localhost:0'), { host: 'localhost', port: 0 });
    for (const bad of ['9090', '127.0.0.1', ':9090', '127.0.0.1:70000', 'a b:1'])
      assert.equal(parseListenAddress(bad), undefined, bad);
  });
});
