import { strict as assert } from 'node:assert';
import type { Claim } from '../../../../src/manifest/claims.js';
import { heldClaims } from '../../../../src/reconcile/docker/held-claims.js';
import { containerOf, testApp } from '../../../support/apps.js';

const at = { file: 'a.yaml', line: 1, col: 1 };
const port = (app: string, hostIp: string, p = 18777): Claim => ({
  kind: 'port',
  hostIp,
  port: p,
  protocol: 'tcp',
  app,
  at,
});

describe('what the host shows an app holding (heldClaims)', () => {
  const a = testApp('a');
  const publishing = (hostIp: string, state: 'running' | 'exited' = 'running') => ({
    ...containerOf(a, 'sha256:x', { state }),
    ports: [{ container: 8080, protocol: 'tcp' as const, hostIp, hostPort: 18777 }],
  });

  it('holds a port its running container publishes, on that address or a wildcard', () => {
    assert.equal(heldClaims([publishing('127.0.0.1')], [])('a', port('a', '127.0.0.1')), true);
    assert.equal(heldClaims([publishing('0.0.0.0')], [])('a', port('a', '127.0.0.1')), true);
    assert.equal(heldClaims([publishing('127.0.0.1')], [])('a', port('a', '127.0.0.1', 18778)), false, 'another port');
    assert.equal(
      heldClaims([publishing('127.0.0.1', 'exited')], [])('a', port('a', '127.0.0.1')),
      false,
      'a stopped container holds nothing',
    );
    assert.equal(heldClaims([publishing('127.0.0.1')], [])('b', port('b', '127.0.0.1')), false, 'another app');
  });

  it('holds a domain while the proxy routes the app', () => {
    const domain: Claim = { kind: 'domain', domain: 'shop.example.test', app: 'a', at };
    assert.equal(heldClaims([], ['a'])('a', domain), true);
    assert.equal(heldClaims([], ['b'])('a', domain), false);
  });
});
