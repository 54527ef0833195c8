import { strict as assert } from 'node:assert';
import { createSocket } from 'node:dgram';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { AccessLogCollector, type CollectorEndpoint } from '../../../../src/proxy/access-log/collector.js';
import { systemClock } from '../../../../src/util/clock.js';
import { silentLogger } from '../../../../src/util/silent-logger.js';
import { freePort, PrivateNginx } from '../../../support/nginx.js';

/**
 * The access-log collector behind a real nginx: the canary's log format and `access_log
 * syslog:...` written by hand (as berth's block will hold them), two upstreams on loopback, one
 * answering 500 to every fifth request, and a third port nobody listens on for retries.
 */
describe('access log collector (real nginx)', function () {
  this.timeout(60_000);
  const HOST = 'log.test';
  let nginx: PrivateNginx;
  let collector: AccessLogCollector;
  let endpoint: CollectorEndpoint;
  const servers: Server[] = [];
  let healthy: Upstream;
  let flaky: Upstream;
  let deadPort: number;

  interface Upstream {
    address: string;
    answered: number;
    failed: number;
  }

  /** An HTTP server on 127.0.0.1 answering 500 to every `failEvery`-th request (never when 0). */
  async function upstream(failEvery: number): Promise<Upstream> {
    const counts = { address: '', answered: 0, failed: 0 };
    const server = createServer((_req, res) => {
      counts.answered++;
      const fail = failEvery > 0 && counts.answered % failEvery === 0;
      if (fail) counts.failed++;
      res.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain' }).end(fail ? 'failed' : 'ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    counts.address = `127.0.0.1:${(server.address() as { port: number }).port}`;
    return counts;
  }

  /** Sends `n` requests through nginx, `concurrency` at a time; resolves with the statuses seen. */
  async function requests(path: string, n: number, concurrency = 8): Promise<number[]> {
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          next++;
          statuses.push((await nginx.get(HOST, path, 10_000)).status);
        }
      }),
    );
    return statuses;
  }

  async function accepted(n: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (collector.counted().accepted < n) {
      if (Date.now() > deadline) {
        const errors = await readFile(join(nginx.prefix, 'logs', 'error.log'), 'utf8').catch(() => '');
        throw new Error(
          `accepted ${JSON.stringify(collector.counted())}, expected ${n}; nginx: ${errors.slice(-2000)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  before(async () => {
    collector = new AccessLogCollector({ clock: systemClock, logger: silentLogger() });
    endpoint = await collector.start();
    healthy = await upstream(0);
    flaky = await upstream(5);
    deadPort = await freePort();
    nginx = await PrivateNginx.start();
    const fields = ['upstream_addr', 'upstream_status', 'upstream_response_time', 'status', 'request_time', 'msec'];
    const json = `{${fields.map((f) => `"${f}":"$${f}"`).join(',')}}`;
    await writeFile(
      join(nginx.confDir, 'canary-log.conf'),
      [
        `log_format berth_canary_test escape=json '${endpoint.token} ${json}';`,
        `upstream canary_split { server ${healthy.address}; server ${flaky.address}; }`,
        `upstream canary_retry { server 127.0.0.1:${deadPort} max_fails=0; server ${healthy.address}; }`,
        'server {',
        `  listen 127.0.0.1:${nginx.port};`,
        `  server_name ${HOST};`,
        `  access_log syslog:server=${endpoint.address},tag=berth,nohostname berth_canary_test;`,
        '  location = /ready { access_log off; return 204; }',
        '  location / { proxy_pass http://canary_split; }',
        '  location /retry { proxy_pass http://canary_retry; proxy_next_upstream error timeout http_502 http_503; }',
        '}',
        '',
      ].join('\n'),
    );
    await nginx.reload();
    // `nginx -s reload` only signals the master: until this block answers, the old worker (the
    // default server's 404) may be the only one, which settled() alone would take for done.
    const deadline = Date.now() + 10_000;
    while ((await nginx.get(HOST, '/ready')).status !== 204) {
      if (Date.now() > deadline) throw new Error('nginx did not load the canary block');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await nginx.settled();
  });

  after(async () => {
    await collector?.close();
    await nginx?.stop();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  it('receives, reads and attributes every request nginx logs: the 500s to the upstream that sent them', async () => {
    const since = Date.now();
    const N = 200;
    const statuses = await requests('/', N);
    await accepted(N);
    const counts = collector.counted();
    assert.deepEqual(counts, { accepted: N, rejected: 0, oversized: 0, malformed: 0 });
    const stats = collector.stats(
      new Map([
        ['stable', [healthy.address]],
        ['canary', [flaky.address]],
      ]),
      since,
    );
    const canary = stats.get('canary')!;
    const stable = stats.get('stable')!;
    assert.equal(canary.requests, flaky.answered);
    assert.equal(canary.errors, flaky.failed);
    assert.ok(flaky.failed >= 15, `the flaky upstream failed ${flaky.failed} of ${flaky.answered}`);
    assert.equal(stable.requests, healthy.answered);
    assert.equal(stable.errors, 0);
    assert.equal(canary.requests + stable.requests, N);
    assert.equal(statuses.filter((s) => s === 500).length, canary.errors, 'what clients saw is what was counted');
    assert.ok(canary.p95Ms !== undefined && stable.p95Ms !== undefined);
  });

  it('counts a retried request for each upstream it tried: the failed connection against its own address', async () => {
    const before = collector.counted().accepted;
    const answeredBefore = healthy.answered;
    const since = Date.now();
    const statuses = await requests('/retry', 40, 4);
    assert.deepEqual(new Set(statuses), new Set([200]), 'nginx retried every failed connection');
    await accepted(before + 40);
    const stats = collector.stats(
      new Map([
        ['gone', [`127.0.0.1:${deadPort}`]],
        ['stable', [healthy.address]],
      ]),
      since,
    );
    const gone = stats.get('gone')!;
    assert.ok(gone.requests > 0, 'round robin sent some requests to the dead port first');
    assert.equal(gone.errors, gone.requests, 'each failed connection is an error (nginx 502)');
    assert.deepEqual(stats.get('stable'), {
      ...stats.get('stable')!,
      requests: healthy.answered - answeredBefore,
      errors: 0,
    });
  });

  it('rejects a forged datagram from another socket: right frame, no token', async () => {
    const before = collector.counted();
    const since = Date.now();
    const forged = `<190>Dec  6 23:06:06 berth: ${'0'.repeat(32)} {"upstream_addr":"${healthy.address}","upstream_status":"500","upstream_response_time":"0.001","status":"500","request_time":"0.001","msec":"${(Date.now() / 1000).toFixed(3)}"}`;
    const [host, port] = endpoint.address.split(':');
    const socket = createSocket('udp4');
    for (const text of [forged, forged.replace(`${'0'.repeat(32)} `, '')]) {
      await new Promise<void>((resolve, reject) =>
        socket.send(text, Number(port), host, (error) => (error ? reject(error) : resolve())),
      );
    }
    socket.close();
    const deadline = Date.now() + 5_000;
    while (collector.counted().rejected < before.rejected + 2) {
      if (Date.now() > deadline) throw new Error(`counted ${JSON.stringify(collector.counted())}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(collector.counted().accepted, before.accepted);
    assert.equal(collector.stats(new Map([['stable', [healthy.address]]]), since).get('stable')?.errors, 0);
  });
});
