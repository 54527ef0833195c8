import { strict as assert } from 'node:assert';
import { clientKey, HostAllowList, hostOfHeader, normalizeHostName, RateLimiter } from '../../../src/http/guard.js';
import { listenSettings } from '../../../src/cli/listen-options.js';
import { UsageError } from '../../../src/cli/usage.js';
import { FakeClock } from '../../support/fake-clock.js';

describe('--listen guard: Host names and the request budget', () => {
  it('reads the host name of a Host header, without port, brackets or trailing dot', () => {
    assert.equal(hostOfHeader('127.0.0.1:9090'), '127.0.0.1');
    assert.equal(hostOfHeader('Example.COM.:80'), 'example.com');
    assert.equal(hostOfHeader('[::1]:9090'), '::1');
    assert.equal(hostOfHeader('[::1]'), '::1');
    for (const bad of ['', 'a b', 'user@host', 'host/path', '[nope]:1', 'a:b:c'])
      assert.equal(hostOfHeader(bad), undefined, bad);
  });

  it('allows the listen host (any port), localhost on loopback, IP literals and the added names; nothing else', () => {
    const loopback = new HostAllowList({ host: '127.0.0.1', port: 9090 });
    for (const ok of [
      '127.0.0.1',
      '127.0.0.1:9090',
      '127.0.0.1:8000',
      'localhost',
      'LOCALHOST:9090',
      'localhost.',
      '10.1.2.3:9090',
      '[::1]:9090',
      undefined,
    ])
      assert.ok(loopback.allows(ok), String(ok));
    for (const refused of [
      'evil.example',
      'evil.example:9090',
      'localhost.evil.example',
      '127.0.0.1.nip.io',
      'bad header',
      '',
    ])
      assert.ok(!loopback.allows(refused), refused);

    const named = new HostAllowList({ host: '10.0.0.5', port: 9090 }, ['berth.example.com']);
    assert.ok(named.allows('berth.example.com:9090'));
    assert.ok(named.allows('BERTH.example.com.'));
    assert.ok(!named.allows('localhost'), 'not on loopback: localhost is not a name of it');
    assert.ok(!named.allows('example.com'));
    assert.deepEqual(named.list(), ['10.0.0.5', 'berth.example.com']);

    assert.ok(
      new HostAllowList({ host: '0.0.0.0', port: 1 }).allows('localhost:1'),
      'a wildcard address includes loopback',
    );
    assert.ok(new HostAllowList({ host: 'berth.lan', port: 1 }).allows('berth.lan:1'), 'a name given to --listen');
  });

  it('takes DNS names and IP addresses as --listen-host, nothing with a port, path or wildcard', () => {
    assert.equal(normalizeHostName('Berth.Example.com.'), 'berth.example.com');
    assert.equal(normalizeHostName('192.168.1.5'), '192.168.1.5');
    for (const bad of ['berth.example.com:9090', '*.example.com', 'a/b', '', '-x.example', 'a..b'])
      assert.equal(normalizeHostName(bad), undefined, bad);
  });

  it('keys clients by IPv4 address (mapped ones unwrapped) and by IPv6 /64', () => {
    assert.equal(clientKey('127.0.0.1'), '127.0.0.1');
    assert.equal(clientKey('::ffff:10.0.0.7'), '10.0.0.7');
    assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(clientKey('::1'), '0:0:0:0::/64');
    assert.equal(clientKey(undefined), 'unknown');
  });

  it('gives each client a burst of N, then one request per 60/N s, with a Retry-After until the next', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(6, clock);
    for (let i = 0; i < 6; i++) assert.deepEqual(limiter.take('a'), { ok: true }, `request ${i + 1}`);
    assert.deepEqual(limiter.take('a'), { ok: false, retryAfterSeconds: 10 });
    assert.deepEqual(limiter.take('b'), { ok: true }, 'another client has its own budget');
    await clock.advance(4_000);
    assert.deepEqual(limiter.take('a'), { ok: false, retryAfterSeconds: 6 });
    await clock.advance(6_000);
    assert.deepEqual(limiter.take('a'), { ok: true });
    assert.equal(limiter.take('a').ok, false);
    await clock.advance(3_600_000);
    for (let i = 0; i < 6; i++) assert.ok(limiter.take('a').ok, 'a full bucket again, never more');
    assert.equal(limiter.take('a').ok, false);
  });

  it('remembers a bounded number of clients, forgetting the least recently seen', () => {
    const limiter = new RateLimiter(1, new FakeClock(), 3);
    for (const key of ['a', 'b', 'c']) assert.ok(limiter.take(key).ok);
    assert.equal(limiter.take('a').ok, false, 'a is seen again: the most recent now');
    assert.ok(limiter.take('d').ok);
    assert.equal(limiter.size, 3);
    assert.equal(limiter.take('a').ok, false, 'a was kept');
    assert.ok(limiter.take('b').ok, 'b, the least recently seen, was forgotten');
  });
});

describe('--listen flags', () => {
  it('defaults the bounds, and takes each', () => {
    assert.equal(listenSettings({}), undefined);
    assert.deepEqual(listenSettings({ listen: '127.0.0.1:9090' }), {
      address: { host: '127.0.0.1', port: 9090 },
      limits: {
        hosts: [],
        maxConnections: 256,
        ratePerMinute: 600,
        headerTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
      },
    });
    const set = listenSettings({
      listen: '[::1]:1',
      'listen-host': ['Berth.LAN'],
      'listen-max-connections': '10',
      'listen-rate': '60',
      'listen-header-timeout': '2',
      'listen-request-timeout': '3',
    });
    assert.deepEqual(set?.limits, {
      hosts: ['berth.lan'],
      maxConnections: 10,
      ratePerMinute: 60,
      headerTimeoutMs: 2_000,
      requestTimeoutMs: 3_000,
      keepAliveTimeoutMs: 5_000,
    });
  });

  it('refuses what it cannot use, in one line naming the flag', () => {
    const refused = (values: Parameters<typeof listenSettings>[0], message: RegExp) =>
      assert.throws(
        () => listenSettings(values),
        (error: unknown) => error instanceof UsageError && message.test(error.message),
      );
    refused({ 'listen-host': ['a.example'] }, /^--listen-host needs --listen$/);
    refused({ listen: 'nope' }, /--listen "nope" is not HOST:PORT/);
    refused(
      { listen: '127.0.0.1:1', 'listen-host': ['evil.example:80'] },
      /--listen-host "evil\.example:80" is not a host name/,
    );
    refused({ listen: '127.0.0.1:1', 'listen-rate': '0' }, /--listen-rate must be a whole number at least 1, not "0"/);
    refused(
      { listen: '127.0.0.1:1', 'listen-max-connections': '1.5' },
      /--listen-max-connections must be a whole number/,
    );
    refused(
      { listen: '127.0.0.1:1', 'listen-header-timeout': '40' },
      /--listen-header-timeout \(40\) must not exceed --listen-request-timeout \(30\)/,
    );
  });
});
