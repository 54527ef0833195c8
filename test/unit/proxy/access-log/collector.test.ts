import { strict as assert } from 'node:assert';
import { createSocket } from 'node:dgram';
import { AccessLogCollector } from '../../../../src/proxy/access-log/collector.js';
import { silentLogger } from '../../../../src/util/silent-logger.js';
import { FakeClock } from '../../../support/fake-clock.js';

function send(address: string, text: string | Buffer): Promise<void> {
  const [host, port] = address.split(':');
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) =>
    socket.send(text, Number(port), host, (error) => {
      socket.close();
      if (error) reject(error);
      else resolve();
    }),
  );
}

function frame(message: string, tag = 'berth'): string {
  return `<190>Dec  6 23:06:06 ${tag}: ${message}`;
}

function accessLine(token: string, upstream: string, status: string): string {
  return `${token} ${JSON.stringify({
    upstream_addr: upstream,
    upstream_status: status,
    upstream_response_time: '0.002',
    status,
    request_time: '0.003',
    msec: '1765062366.123',
  })}`;
}

/** Resolves once the collector has counted `n` datagrams (UDP on loopback: a few ms). */
async function counted(collector: AccessLogCollector, n: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const c = collector.counted();
    if (c.accepted + c.rejected + c.oversized + c.malformed >= n) return;
    if (Date.now() > deadline) throw new Error(`counted ${JSON.stringify(c)}, expected ${n} datagrams`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('access log collector', () => {
  let collector: AccessLogCollector;
  afterEach(async () => collector?.close());

  it('listens on an ephemeral port of 127.0.0.1 with a fresh random token each run', async () => {
    collector = new AccessLogCollector({ clock: new FakeClock(), logger: silentLogger() });
    const other = new AccessLogCollector({ clock: new FakeClock(), logger: silentLogger() });
    const a = await collector.start();
    const b = await other.start();
    await other.close();
    assert.match(a.address, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(a.address, b.address);
    assert.match(a.token, /^[0-9a-f]{32}$/);
    assert.notEqual(a.token, b.token);
    assert.deepEqual(await collector.start(), a, 'a second start gives the same endpoint');
  });

  it('keeps the lines with its token and counts, never keeps, the others', async () => {
    collector = new AccessLogCollector({ clock: new FakeClock(), logger: silentLogger() });
    const { address, token } = await collector.start();
    await send(address, frame(accessLine(token, '127.0.0.1:9001', '500')));
    await send(address, frame(accessLine(token, '127.0.0.1:9001', '200')));
    await send(address, frame(accessLine('f'.repeat(32), '127.0.0.1:9001', '200')));
    await send(address, frame(accessLine(token, '127.0.0.1:9001', '200'), 'nginx'));
    await send(address, accessLine(token, '127.0.0.1:9001', '200'));
    await send(address, frame(`${token} {not json`));
    await send(address, Buffer.alloc(4096, 'a'));
    await counted(collector, 7);
    assert.deepEqual(collector.counted(), { accepted: 2, rejected: 3, oversized: 1, malformed: 1 });
    assert.deepEqual(collector.stats(new Map([['v2', ['127.0.0.1:9001']]]), 0).get('v2'), {
      requests: 2,
      errors: 1,
      p95Ms: 2,
    });
  });

  it('warns about strangers at most once a minute, without their content', async () => {
    const warnings: unknown[][] = [];
    const logger = { ...silentLogger(), warn: (...args: unknown[]) => warnings.push(args) };
    const clock = new FakeClock();
    collector = new AccessLogCollector({ clock, logger: logger as never });
    const { address } = await collector.start();
    await send(address, frame('secret-looking stranger text'));
    await send(address, frame('more'));
    await counted(collector, 2);
    await clock.advance(60_000);
    await send(address, frame('later'));
    await counted(collector, 3);
    assert.equal(warnings.length, 2);
    assert.ok(!JSON.stringify(warnings).includes('stranger'));
  });
});
