import { strict as assert } from 'node:assert';
import { createSocket, type Socket } from 'node:dgram';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { NginxRouter } from '../../../src/proxy/nginx-router.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
import { testApp } from '../../support/apps.js';
import { PrivateNginx } from '../../support/nginx.js';

/**
 * The canary's split and access log as the real nginx takes them: the block berth renders passes
 * `nginx -t`, 10% of requests reach the canary, and every request arrives at a syslog listener on
 * loopback as one line (the token, then JSON), retries listed attempt by attempt. The upstreams are
 * plain HTTP servers on 127.0.0.1; no engine is involved.
 */
describe('a canary split and its access log in the real nginx', function () {
  this.timeout(60_000);
  const HOST = 'web.example.test';
  const TOKEN = 'canary_split_test_0123456789';
  const app = testApp('web', { domains: [HOST] });
  let nginx: PrivateNginx;
  let router: NginxRouter;
  let stable: Server;
  let canary: Server;
  let listener: Socket;
  let received: string[];
  const address = (server: Server) => `127.0.0.1:${(server.address() as { port: number }).port}`;

  /** An HTTP server on an ephemeral loopback port answering `body` to everything. */
  async function upstream(body: string): Promise<Server> {
    const server = createServer((_req, res) => res.end(body));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  /** nginx's worker processes now. */
  async function workers(): Promise<string[]> {
    const master = (await readFile(join(nginx.prefix, 'nginx.pid'), 'utf8')).trim();
    return (await readFile(`/proc/${master}/task/${master}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean);
  }

  /** Routes, then waits until a worker started after the reload serves alone (the reload signal is asynchronous). */
  async function routeNow(...args: Parameters<NginxRouter['route']>): Promise<void> {
    const before = new Set(await workers());
    await router.route(...args);
    const deadline = Date.now() + 10_000;
    while ((await workers()).every((pid) => before.has(pid))) {
      assert.ok(Date.now() < deadline, 'nginx did not reload');
      await new Promise((r) => setTimeout(r, 20));
    }
    await nginx.settled();
  }

  /** `count` GETs through nginx, `parallel` at a time; their bodies. */
  async function requests(count: number, parallel = 8): Promise<string[]> {
    const bodies: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < count) {
          next++;
          const answer = await nginx.get(HOST);
          assert.equal(answer.status, 200, answer.body);
          bodies.push(answer.body);
        }
      }),
    );
    return bodies;
  }

  /** Waits until `count` lines arrived (UDP on loopback loses none at this rate), then takes them. */
  async function lines(count: number): Promise<string[]> {
    const deadline = Date.now() + 10_000;
    while (received.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(received.length, count, 'one line per request');
    return received.splice(0, received.length);
  }

  /** The JSON of one datagram, after nginx's syslog frame and the token. */
  function entryOf(datagram: string): Record<string, string> {
    const match = /^<\d{1,3}>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d berth: (\S+) (\{.*\})$/.exec(datagram);
    assert.ok(match, datagram);
    assert.equal(match[1], TOKEN);
    return JSON.parse(match[2] ?? '') as Record<string, string>;
  }

  before(async () => {
    nginx = await PrivateNginx.start();
    const flags = nginx.berthFlags();
    const flag = (name: string) => flags[flags.indexOf(name) + 1] ?? '';
    router = new NginxRouter(
      {
        namespace: 'canarytest',
        confDir: nginx.confDir,
        listen: flag('--proxy-listen'),
        testCommand: flag('--nginx-test'),
        reloadCommand: flag('--nginx-reload'),
      },
      silentLogger(),
    );
    stable = await upstream('stable');
    canary = await upstream('canary');
    received = [];
    listener = createSocket('udp4');
    listener.on('message', (message) => received.push(message.toString('utf8')));
    await new Promise<void>((resolve) => listener.bind(0, '127.0.0.1', resolve));
  });
  after(async () => {
    listener?.close();
    await new Promise((resolve) => stable?.close(resolve));
    await new Promise((resolve) => canary?.close(resolve));
    await nginx?.stop();
  });

  const accessLog = () => ({ address: `127.0.0.1:${listener.address().port}`, token: TOKEN });

  it('takes the block (nginx -t), sends about 10% of 1,000 requests to the canary, and logs each', async () => {
    await routeNow(app, [address(stable)], {
      canary: { endpoints: [address(canary)], percent: 10 },
      accessLog: accessLog(),
    });
    const file = join(nginx.confDir, 'berth.canarytest.web.conf');
    assert.equal((await stat(file)).mode & 0o777, 0o600, 'the token is readable by root only');

    const bodies = await requests(1000);
    const toCanary = bodies.filter((b) => b === 'canary').length;
    assert.ok(toCanary >= 60 && toCanary <= 140, `${toCanary} of 1,000 requests reached the canary`);
    assert.equal(bodies.filter((b) => b === 'stable').length, 1000 - toCanary);

    const entries = (await lines(1000)).map(entryOf);
    assert.deepEqual(Object.keys(entries[0] ?? {}), [
      'upstream_addr',
      'upstream_status',
      'upstream_response_time',
      'status',
      'request_time',
      'msec',
    ]);
    assert.equal(entries.filter((e) => e.upstream_addr === address(canary)).length, toCanary);
    assert.equal(entries.filter((e) => e.upstream_addr === address(stable)).length, 1000 - toCanary);
    for (const entry of entries) {
      assert.equal(entry.status, '200');
      assert.equal(entry.upstream_status, '200');
      assert.match(entry.upstream_response_time ?? '', /^\d+\.\d{3}$/);
      assert.match(entry.msec ?? '', /^\d{10}\.\d{3}$/);
      assert.ok(Math.abs(Number(entry.msec) * 1000 - Date.now()) < 60_000);
    }
  });

  it('moves the split at the next step, and logs a retry attempt by attempt', async () => {
    // The canary's port closed: nginx retries each of its requests on the stable server.
    const gone = address(canary);
    await new Promise((resolve) => canary.close(resolve));
    await routeNow(app, [address(stable)], { canary: { endpoints: [gone], percent: 50 }, accessLog: accessLog() });
    assert.ok(
      await router.isRouted(app, [address(stable)], {
        canary: { endpoints: [gone], percent: 50 },
        accessLog: accessLog(),
      }),
    );
    const bodies = await requests(100, 1);
    assert.ok(
      bodies.every((b) => b === 'stable'),
      'no request failed',
    );
    const retried = (await lines(100)).map(entryOf).filter((e) => e.upstream_addr?.includes(', '));
    assert.ok(retried.length >= 1, 'the canary had its share of attempts');
    for (const entry of retried) {
      assert.equal(entry.upstream_addr, `${gone}, ${address(stable)}`);
      assert.equal(entry.upstream_status, '502, 200');
      assert.equal(entry.status, '200');
    }
    canary = await upstream('canary');
  });

  it('stops logging once routed without the access log', async () => {
    await routeNow(app, [address(stable)]);
    await requests(20);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(received.length, 0, received.slice(0, 3).join('\n'));
  });
});
