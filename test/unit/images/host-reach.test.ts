import { strict as assert } from 'node:assert';
import { hostReach, isNearerThan } from '../../../src/images/host-reach.js';

describe('hostReach (how near a URL host is to this machine)', () => {
  it('tells loopback, link-local, private and public hosts apart, in every spelling a URL parser leaves', () => {
    const reachOf = (host: string) => hostReach(new URL(`http://${host}/`).hostname);
    const table: [string, string][] = [
      ['127.0.0.1', 'loopback'],
      ['127.1', 'loopback'],
      ['2130706433', 'loopback'],
      ['localhost', 'loopback'],
      ['LOCALHOST', 'loopback'],
      ['api.localhost', 'loopback'],
      ['[::1]', 'loopback'],
      ['[0:0:0:0:0:0:0:1]', 'loopback'],
      ['[::ffff:127.0.0.1]', 'loopback'],
      ['169.254.169.254', 'link-local'],
      ['[fe80::1]', 'link-local'],
      ['[::ffff:169.254.169.254]', 'link-local'],
      ['10.0.0.7', 'private'],
      ['172.16.0.1', 'private'],
      ['192.168.1.1', 'private'],
      ['100.64.0.1', 'private'],
      ['[fd00::1]', 'private'],
      ['8.8.8.8', 'public'],
      ['172.32.0.1', 'public'],
      ['registry.example.com', 'public'],
    ];
    assert.deepEqual(
      table.map(([host]) => [host, reachOf(host)]),
      table,
    );
  });

  it('calls a target nearer than its source only when it is strictly nearer', () => {
    assert.equal(isNearerThan('127.0.0.1', 'registry.example.com'), true);
    assert.equal(isNearerThan('169.254.169.254', '10.0.0.5'), true);
    assert.equal(isNearerThan('10.0.0.7', 'registry.example.com'), true);
    assert.equal(isNearerThan('127.0.0.1', 'localhost'), false, 'a loopback registry may name a loopback realm');
    assert.equal(isNearerThan('10.0.0.7', '192.168.0.2'), false, 'private to private');
    assert.equal(isNearerThan('auth.example.com', '127.0.0.1'), false, 'farther is not nearer');
  });
});
