import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  blockFileName,
  blockHeader,
  conflictingServerNames,
  isLegacyBlockFileName,
  legacyBlockFileName,
  parseBlockFileName,
  parseBlockHeader,
  serverNamesOf,
  upstreamName,
} from '../../../src/proxy/nginx-names.js';
import { renderServerBlock } from '../../../src/proxy/nginx-config.js';
import { APP_NAME } from '../../../src/manifest/app-name.js';

/** Namespaces as `--namespace` admits them ('.', '_', '-' inside), apps as DNS labels. */
const namespaces = fc.stringMatching(/^[a-z0-9]([a-z0-9._-]{0,10}[a-z0-9])?$/);
const apps = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/).filter((a) => APP_NAME.test(a));

describe('nginx names', () => {
  it('reads the old collision as two files and two upstreams', () => {
    assert.equal(
      legacyBlockFileName('prod', 'eu-web'),
      legacyBlockFileName('prod-eu', 'web'),
      'the previous naming: one name for both',
    );
    assert.equal(blockFileName('prod', 'eu-web'), 'berth.prod.eu-web.conf');
    assert.equal(blockFileName('prod-eu', 'web'), 'berth.prod-eu.web.conf');
    assert.deepEqual(parseBlockFileName('berth.prod.eu-web.conf'), { namespace: 'prod', app: 'eu-web' });
    assert.deepEqual(parseBlockFileName('berth.prod-eu.web.conf'), { namespace: 'prod-eu', app: 'web' });
    assert.notEqual(upstreamName('prod', 'eu-web'), upstreamName('prod-eu', 'web'));
  });

  it('splits a namespace with dots at the last dot: the app never has one', () => {
    assert.deepEqual(parseBlockFileName('berth.prod.eu.web.conf'), { namespace: 'prod.eu', app: 'web' });
    assert.deepEqual(parseBlockFileName('berth.a_b.c.conf'), { namespace: 'a_b', app: 'c' });
  });

  it('reads no owner from other names: old ones, temp files, vhosts, halves', () => {
    for (const file of [
      'berth-prod-web.conf',
      'berth.prod.web.conf.3fa1c2.tmp',
      '.berth.prod.web.conf.0123456789abcdef.tmp',
      'shop.conf',
      'berth.web.conf',
      'berth..web.conf',
      'berth.prod.-web.conf',
      'berth.prod.web-.conf',
      'berth.Prod.web.conf',
      'berth.prod.we_b.conf',
      'berth-prod-acme',
    ]) {
      assert.equal(parseBlockFileName(file), undefined, file);
    }
    assert.equal(isLegacyBlockFileName('berth-prod-eu-web.conf'), true);
    assert.equal(isLegacyBlockFileName('berth.prod.web.conf'), false);
    assert.equal(isLegacyBlockFileName('berth-prod-acme'), false);
  });

  it('gives every (namespace, app) its own file and upstream, and reads the file name back as that pair', () => {
    fc.assert(
      fc.property(namespaces, apps, namespaces, apps, (ns1, app1, ns2, app2) => {
        assert.deepEqual(parseBlockFileName(blockFileName(ns1, app1)), { namespace: ns1, app: app1 });
        const same = ns1 === ns2 && app1 === app2;
        assert.equal(blockFileName(ns1, app1) === blockFileName(ns2, app2), same);
        assert.equal(upstreamName(ns1, app1) === upstreamName(ns2, app2), same);
      }),
      { numRuns: 2000 },
    );
  });

  it('tells a namespace from one it is a prefix of', () => {
    fc.assert(
      fc.property(namespaces, fc.constantFrom('-', '.', '_'), namespaces, apps, (ns, sep, rest, app) => {
        const longer = `${ns}${sep}${rest}`;
        fc.pre(/^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/.test(longer));
        assert.notEqual(parseBlockFileName(blockFileName(longer, app))?.namespace, ns);
      }),
    );
  });

  it('reads the owner from the header berth writes, the only way to tell whose an old file is', () => {
    const text = renderServerBlock({
      namespace: 'prod-eu',
      app: 'web',
      listen: '80',
      domains: ['Web.Example.test'],
      endpoints: [],
    });
    assert.ok(text.startsWith(blockHeader('prod-eu', 'web')));
    assert.deepEqual(parseBlockHeader(text), { namespace: 'prod-eu', app: 'web' });
    assert.deepEqual(
      parseBlockHeader(
        '# Written by berth for app "eu-web" (namespace prod); berth rewrites this file.\nupstream berth_prod_eu_web {\n',
      ),
      { namespace: 'prod', app: 'eu-web' },
    );
    assert.equal(
      parseBlockHeader(
        'server { listen 80; }\n# Written by berth for app "web" (namespace prod); berth rewrites this file.\n',
      ),
      undefined,
      'only the first line',
    );
    assert.equal(
      parseBlockHeader('# Written by berth for app "../x" (namespace prod); berth rewrites this file.\n'),
      undefined,
    );
    assert.deepEqual(serverNamesOf(text), ['web.example.test']);
  });

  it('reads the server names of every server block berth wrote', () => {
    const text = renderServerBlock({
      namespace: 'prod',
      app: 'web',
      listen: '80',
      domains: ['a.test', 'b.test'],
      endpoints: ['127.0.0.1:1'],
      tls: {
        listen: '443',
        certificates: {
          certificateFor: (d) => (d === 'a.test' ? { certFile: '/c', keyFile: '/k', fingerprint: 'F' } : undefined),
        },
      },
    });
    assert.deepEqual(serverNamesOf(text).sort(), ['a.test', 'b.test']);
  });

  it("parses nginx -t's conflicting server name warnings, with and without the log prefix", () => {
    const output = [
      '2026/12/06 16:13:03 [warn] 6079#6079: conflicting server name "b.test" on 127.0.0.1:18999, ignored',
      'nginx: [warn] conflicting server name "Shop.Example.test" on 0.0.0.0:80, ignored',
      'nginx: [warn] conflicting server name "v6.test" on [::]:80, ignored',
      'nginx: the configuration file /etc/nginx/nginx.conf syntax is ok',
    ].join('\n');
    assert.deepEqual(conflictingServerNames(output), [
      { name: 'b.test', on: '127.0.0.1:18999' },
      { name: 'shop.example.test', on: '0.0.0.0:80' },
      { name: 'v6.test', on: '[::]:80' },
    ]);
    assert.deepEqual(
      conflictingServerNames('nginx: configuration file /etc/nginx/nginx.conf test is successful\n'),
      [],
    );
  });
});
