import { strict as assert } from 'node:assert';
import { collisionProblems, findCollisions, normalizeDomain } from '../../../src/manifest/claims.js';
import type { App, PortSpec } from '../../../src/manifest/types.js';
import { testApp, type SpecOverrides } from '../../support/apps.js';

/** An app written in `file` at `line`, each claim on the lines below it. */
function app(name: string, file: string, line: number, spec: SpecOverrides): App {
  const base = testApp(name, spec);
  const at = (i: number) => ({ file, line: line + 1 + i, col: 11 });
  return {
    ...base,
    source: { file, line, col: 1 },
    claimsAt: {
      ports: base.spec.ports.map((_p, i) => at(i)),
      domains: base.spec.domains.map((_d, i) => at(10 + i)),
      volumes: base.spec.volumes.map((_v, i) => at(20 + i)),
    },
  };
}
const port = (host: number, hostIp = '127.0.0.1', protocol: 'tcp' | 'udp' = 'tcp'): PortSpec => ({
  container: 8080,
  host,
  hostIp,
  protocol,
});

describe('claims on the host (findCollisions)', () => {
  it('finds one host port and protocol claimed by two apps, and names both positions once per file', () => {
    const a = app('a', 'apps.yaml', 1, { ports: [port(18777)] });
    const b = app('b', 'apps.yaml', 20, { ports: [port(18777)] });
    const collisions = findCollisions([a, b]);
    assert.equal(collisions.length, 1);
    assert.deepEqual(collisionProblems(collisions), [
      {
        file: 'apps.yaml',
        line: 21,
        col: 11,
        app: 'b',
        message: 'host port 127.0.0.1:18777/tcp is also published by app a (apps.yaml:2:11)',
      },
    ]);
    const inTwoFiles = collisionProblems(findCollisions([a, app('b', 'b.yaml', 1, { ports: [port(18777)] })]));
    assert.deepEqual(
      inTwoFiles.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`),
      [
        'apps.yaml:2:11: host port 127.0.0.1:18777/tcp is also published by app b (b.yaml:2:11)',
        'b.yaml:2:11: host port 127.0.0.1:18777/tcp is also published by app a (apps.yaml:2:11)',
      ],
    );
  });

  it('takes a wildcard address as overlapping every address of its family, and nothing else as overlapping', () => {
    const on = (name: string, ...ports: PortSpec[]) => app(name, `${name}.yaml`, 1, { ports });
    assert.equal(findCollisions([on('a', port(80, '0.0.0.0')), on('b', port(80, '127.0.0.1'))]).length, 1);
    assert.equal(findCollisions([on('a', port(80, '::')), on('b', port(80, '::1'))]).length, 1);
    assert.equal(
      findCollisions([on('a', port(80, '127.0.0.1')), on('b', port(80, '127.0.0.2'))]).length,
      0,
      'two addresses',
    );
    assert.equal(
      findCollisions([on('a', port(80, '127.0.0.1', 'tcp')), on('b', port(80, '127.0.0.1', 'udp'))]).length,
      0,
      'two protocols',
    );
    assert.equal(findCollisions([on('a', port(80)), on('b', port(81))]).length, 0, 'two ports');
    assert.equal(findCollisions([on('a', port(80, '0.0.0.0')), on('b', port(80, '::1'))]).length, 0, 'two families');
    assert.equal(
      findCollisions([on('a', port(80), port(81, '127.0.0.1', 'udp'))]).length,
      0,
      'one app alone never collides',
    );
  });

  it('compares domains lower-cased without a trailing dot, and counts a --domain default vhost as a claim', () => {
    assert.equal(normalizeDomain('Shop.Example.TEST.'), 'shop.example.test');
    const shop = app('shop', 'shop.yaml', 1, { domains: ['Shop.Example.test.'] });
    const other = app('other', 'other.yaml', 1, { domains: ['shop.example.test'] });
    assert.match(
      collisionProblems(findCollisions([shop, other])).find((p) => p.file === 'shop.yaml')?.message ?? '',
      /^domain shop\.example\.test is also served by app other \(other\.yaml:12:11\)$/,
    );
    const web = app('web', 'web.yaml', 1, {});
    const squatter = app('squatter', 'squatter.yaml', 5, { domains: ['web.apps.test'] });
    assert.equal(findCollisions([web, squatter]).length, 0, 'no proxy domain, no default vhost');
    const viaDefault = findCollisions([web, squatter], { defaultDomain: 'apps.test' });
    assert.deepEqual(
      viaDefault.map((c) => [c.what, c.claims.map((x) => x.app)]),
      [['domain web.apps.test', ['squatter', 'web']]],
    );
  });

  it('warns of a named volume two apps use, and never of host paths', () => {
    const volume = (source: string) => [{ source, target: '/data', readOnly: false }];
    const collisions = findCollisions([
      app('a', 'a.yaml', 1, { volumes: volume('shared') }),
      app('b', 'b.yaml', 1, { volumes: volume('shared') }),
    ]);
    assert.deepEqual(
      collisions.map((c) => c.severity),
      ['warning'],
    );
    assert.match(
      collisionProblems(collisions)[0]?.message ?? '',
      /^warning: named volume shared is also used by app b/,
    );
    assert.equal(
      findCollisions([
        app('a', 'a.yaml', 1, { volumes: volume('/srv/x') }),
        app('b', 'b.yaml', 1, { volumes: volume('/srv/x') }),
      ]).length,
      0,
    );
  });
});
