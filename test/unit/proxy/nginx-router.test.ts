import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainConflictError, ProxyError } from '../../../src/proxy/errors.js';
import { renderServerBlock } from '../../../src/proxy/nginx-config.js';
import { NginxRouter } from '../../../src/proxy/nginx-router.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
import { testApp } from '../../support/apps.js';

/** The router's file handling, with shell commands standing in for `nginx -t` and the reload. */
describe('NginxRouter', () => {
  let dir: string;
  let log: string;
  const router = (options: { test?: string; defaultDomain?: string; namespace?: string } = {}) =>
    new NginxRouter(
      {
        namespace: options.namespace ?? 'dokku',
        confDir: dir,
        listen: '80',
        testCommand: options.test ?? `echo test >> ${log}`,
        reloadCommand: `echo reload >> ${log}`,
        ...(options.defaultDomain ? { defaultDomain: options.defaultDomain } : {}),
      },
      silentLogger(),
    );
  /** A test command that passes with nginx's warning about `domain`, as `nginx -t` does when two server blocks serve it. */
  const conflictOn = (domain: string) =>
    `echo test >> ${log}; echo 'nginx: [warn] conflicting server name "${domain}" on 0.0.0.0:80, ignored' >&2; echo 'nginx: configuration file /etc/nginx/nginx.conf test is successful' >&2`;
  const commands = async () => (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-router-'));
    log = join(dir, '..', `${dir.split('/').pop()}.log`);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(log, { force: true });
  });

  it('serves an app without domains as <app>.<domain> with --domain, testing before reloading', async () => {
    await router({ defaultDomain: 'apps.test' }).route(testApp('web'), ['127.0.0.1:32768']);
    assert.match(await readFile(join(dir, 'berth.dokku.web.conf'), 'utf8'), /server_name web\.apps\.test;/);
    assert.deepEqual(await commands(), ['test', 'reload']);
  });

  it('rejects with ProxyError naming the file when the config directory cannot be written, and reloads nothing', async () => {
    const notADirectory = join(dir, 'conf.d');
    await writeFile(notADirectory, '');
    const broken = new NginxRouter(
      {
        namespace: 'dokku',
        confDir: notADirectory,
        listen: '80',
        testCommand: `echo test >> ${log}`,
        reloadCommand: `echo reload >> ${log}`,
        defaultDomain: 'apps.test',
      },
      silentLogger(),
    );
    await assert.rejects(
      broken.route(testApp('web'), ['127.0.0.1:32768']),
      (error: unknown) =>
        error instanceof ProxyError &&
        /cannot write the nginx configuration .*conf\.d\/berth\.dokku\.web\.conf, the previous one is kept: ENOTDIR/.test(
          error.message,
        ),
    );
    assert.deepEqual(await commands(), []);
  });

  it('writes nothing for an app without domains and no --domain', async () => {
    await router().route(testApp('web'), ['127.0.0.1:32768']);
    assert.deepEqual(await readdir(dir), []);
    assert.deepEqual(await commands(), []);
  });

  it('does not touch nginx when the block is unchanged', async () => {
    const app = testApp('web', { domains: ['web.example.test'] });
    await router().route(app, ['127.0.0.1:32768']);
    await router().route(app, ['127.0.0.1:32768']);
    assert.deepEqual(await commands(), ['test', 'reload']);
  });

  it('restores the previous block when the test command rejects the new one, and never reloads', async () => {
    const app = testApp('web', { domains: ['web.example.test'] });
    await router().route(app, ['127.0.0.1:32768']);
    const before = await readFile(join(dir, 'berth.dokku.web.conf'), 'utf8');
    await writeFile(log, '');
    await assert.rejects(
      router({ test: 'echo "nginx: [emerg] unknown directive" >&2; exit 1' }).route(app, ['127.0.0.1:40000']),
      (error: unknown) => {
        assert.ok(error instanceof ProxyError);
        assert.match(error.message, /rejected.*unknown directive/);
        return true;
      },
    );
    assert.equal(await readFile(join(dir, 'berth.dokku.web.conf'), 'utf8'), before);
    assert.deepEqual(await commands(), []);
  });

  it('removes a rejected first block entirely', async () => {
    await assert.rejects(
      router({ test: 'exit 1' }).route(testApp('web', { domains: ['web.example.test'] }), []),
      ProxyError,
    );
    assert.deepEqual(await readdir(dir), []);
  });

  it('isRouted is true only while the block on disk is the one route() would write', async () => {
    const r = router();
    const app = testApp('web', { domains: ['web.example.test'] });
    assert.equal(await r.isRouted(app, ['127.0.0.1:32768']), false);
    await r.route(app, ['127.0.0.1:32768']);
    assert.equal(await r.isRouted(app, ['127.0.0.1:32768']), true);
    assert.equal(await r.isRouted(app, ['127.0.0.1:40000']), false);
    await writeFile(join(dir, 'berth.dokku.web.conf'), '# edited by hand\n');
    assert.equal(await r.isRouted(app, ['127.0.0.1:32768']), false);
    await rm(join(dir, 'berth.dokku.web.conf'));
    assert.equal(await r.isRouted(app, ['127.0.0.1:32768']), false);
    assert.equal(await r.isRouted(testApp('api'), []), true, 'an app without domains has no block to miss');
  });

  it('unroute removes the block and reloads; routed() lists what has a block', async () => {
    const r = router();
    await r.route(testApp('web', { domains: ['web.example.test'] }), []);
    await r.route(testApp('api', { domains: ['api.example.test'] }), []);
    assert.deepEqual((await r.routed()).sort(), ['api', 'web']);
    await r.unroute('web');
    assert.deepEqual(await r.routed(), ['api']);
  });

  describe('across namespaces', () => {
    it('lists, rewrites and removes only its own namespace, matching the whole name', async () => {
      // `dokku`'s app eu-web and `dokku-eu`'s app web were one file before; `dokku.eu` starts with `dokku.` too.
      await router().route(testApp('eu-web', { domains: ['a.test'] }), []);
      await router({ namespace: 'dokku-eu' }).route(testApp('web', { domains: ['b.test'] }), []);
      await router({ namespace: 'dokku.eu' }).route(testApp('web', { domains: ['c.test'] }), []);
      assert.deepEqual((await readdir(dir)).sort(), [
        'berth.dokku-eu.web.conf',
        'berth.dokku.eu-web.conf',
        'berth.dokku.eu.web.conf',
      ]);
      assert.deepEqual(await router().routed(), ['eu-web']);
      assert.deepEqual(await router({ namespace: 'dokku-eu' }).routed(), ['web']);
      assert.deepEqual(await router({ namespace: 'dokku.eu' }).routed(), ['web']);
      assert.equal(await router().hasRoute('web'), false);
      await router().unroute('web');
      await router().unroute('eu-web');
      assert.deepEqual((await readdir(dir)).sort(), ['berth.dokku-eu.web.conf', 'berth.dokku.eu.web.conf']);
      const other = await readFile(join(dir, 'berth.dokku-eu.web.conf'), 'utf8');
      assert.match(other, /upstream|return 503/);
      assert.doesNotMatch(await readFile(join(dir, 'berth.dokku.eu.web.conf'), 'utf8'), /dokku-eu/);
    });

    it("refuses a domain another namespace's block serves, naming it; the holder's file stays, the newcomer's previous block is back, nothing reloads", async () => {
      await router({ namespace: 'dokku-eu' }).route(testApp('web', { domains: ['shared.test'] }), ['127.0.0.1:32768']);
      await router().route(testApp('eu-web', { domains: ['eu.test'] }), ['127.0.0.1:32769']);
      const holder = await readFile(join(dir, 'berth.dokku-eu.web.conf'), 'utf8');
      const before = await readFile(join(dir, 'berth.dokku.eu-web.conf'), 'utf8');
      await writeFile(log, '');
      const newcomer = testApp('eu-web', { domains: ['eu.test', 'shared.test'] });
      const r = router({ test: conflictOn('shared.test') });
      await assert.rejects(r.route(newcomer, ['127.0.0.1:32769']), (error: unknown) => {
        assert.ok(error instanceof DomainConflictError);
        assert.deepEqual(error.domains, ['shared.test']);
        assert.equal(
          error.message,
          `domain shared.test is also served by app web of namespace dokku-eu (${join(dir, 'berth.dokku-eu.web.conf')}), which keeps it; the nginx block of eu-web is left as it was`,
        );
        return true;
      });
      assert.equal(await readFile(join(dir, 'berth.dokku-eu.web.conf'), 'utf8'), holder);
      assert.equal(await readFile(join(dir, 'berth.dokku.eu-web.conf'), 'utf8'), before);
      assert.deepEqual(await commands(), ['test'], 'tested, never reloaded');
      assert.equal(await router().isRouted(newcomer, ['127.0.0.1:32769']), false);
      assert.deepEqual(r.refusedDomains('eu-web'), ['shared.test'], 'no certificate is ordered for it');
      await r.route(testApp('eu-web', { domains: ['eu.test'] }), ['127.0.0.1:40000']);
      assert.deepEqual(r.refusedDomains('eu-web'), []);
    });

    it('refuses a domain a vhost berth did not write serves, in nginx words, and removes a first block', async () => {
      await writeFile(join(dir, 'shop.conf'), 'server { listen 80; server_name shop.test; return 200; }\n');
      await assert.rejects(
        router({ test: conflictOn('shop.test') }).route(testApp('web', { domains: ['shop.test'] }), [
          '127.0.0.1:32768',
        ]),
        (error: unknown) => {
          assert.ok(error instanceof DomainConflictError);
          assert.equal(
            error.message,
            'domain shop.test is also served by a server block berth did not write (nginx -t: conflicting server name "shop.test" on 0.0.0.0:80), which keeps it; the nginx block of web is left as it was',
          );
          return true;
        },
      );
      assert.deepEqual(await readdir(dir), ['shop.conf']);
      assert.deepEqual(await commands(), ['test']);
    });

    it('ignores warnings about names the block does not serve, and keeps a domain its previous block already served', async () => {
      const app = testApp('web', { domains: ['shop.test'] });
      await router({ test: conflictOn('elsewhere.test') }).route(app, ['127.0.0.1:32768']);
      await router({ test: conflictOn('shop.test') }).route(app, ['127.0.0.1:40000']);
      assert.equal(await router().isRouted(app, ['127.0.0.1:40000']), true);
      assert.deepEqual(await commands(), ['test', 'reload', 'test', 'reload']);
    });
  });

  describe('migrate (blocks of the previous naming)', () => {
    /** A block as the previous version wrote it: same text, old upstream name, old file name. */
    const legacy = (namespace: string, app: string, domains: string[], endpoints: string[]) => {
      const upstream = `berth_${namespace}_${app}`.replace(/[^A-Za-z0-9_]/g, '_');
      const text = renderServerBlock({ namespace, app, listen: '80', domains, endpoints })
        .split(`berth.${namespace}.${app}`)
        .join(upstream);
      return writeFile(join(dir, `berth-${namespace}-${app}.conf`), text).then(() => text);
    };

    it("renames this namespace's old blocks by their header, leaves another namespace's old block of the same shape alone, and tests and reloads once", async () => {
      await legacy('dokku', 'api', ['api.test'], ['127.0.0.1:32768']);
      const theirs = await legacy('dokku-eu', 'web', ['web.eu.test'], ['127.0.0.1:32769']);
      assert.ok(theirs.includes('upstream berth_dokku_eu_web {'));
      await writeFile(join(dir, 'berth-dokku-notes.conf'), '# not berth\n');
      const r = router();
      await r.migrate();
      assert.deepEqual((await readdir(dir)).sort(), [
        'berth-dokku-eu-web.conf',
        'berth-dokku-notes.conf',
        'berth.dokku.api.conf',
      ]);
      assert.equal(
        await readFile(join(dir, 'berth-dokku-eu-web.conf'), 'utf8'),
        theirs,
        "the other namespace's old file, untouched (its name also reads as dokku's eu-web)",
      );
      const api = testApp('api', { domains: ['api.test'] });
      assert.equal(
        await r.isRouted(api, ['127.0.0.1:32768']),
        true,
        'the renamed block is what this version writes: no rewrite follows',
      );
      assert.match(
        await readFile(join(dir, 'berth.dokku.api.conf'), 'utf8'),
        /upstream berth\.dokku\.api \{[\s\S]*proxy_pass http:\/\/berth\.dokku\.api;/,
      );
      assert.deepEqual(await r.routed(), ['api']);
      assert.deepEqual(await commands(), ['test', 'reload']);
      await writeFile(log, '');
      await r.migrate();
      assert.deepEqual(await commands(), [], 'nothing left to rename');
      // The other namespace's berth renames its own.
      await router({ namespace: 'dokku-eu' }).migrate();
      assert.deepEqual((await readdir(dir)).sort(), [
        'berth-dokku-notes.conf',
        'berth.dokku-eu.web.conf',
        'berth.dokku.api.conf',
      ]);
    });

    it('drops an old block beside a new one of the same app: the new one is newer', async () => {
      await legacy('dokku', 'api', ['old.test'], []);
      await router().route(testApp('api', { domains: ['api.test'] }), []);
      await router().migrate();
      assert.deepEqual(await readdir(dir), ['berth.dokku.api.conf']);
      assert.match(await readFile(join(dir, 'berth.dokku.api.conf'), 'utf8'), /server_name api\.test;/);
    });

    it('puts every file back and rejects naming them when nginx rejects the result', async () => {
      const text = await legacy('dokku', 'api', ['api.test'], ['127.0.0.1:32768']);
      await assert.rejects(
        router({ test: 'echo "nginx: [emerg] host not found" >&2; exit 1' }).migrate(),
        (error: unknown) => {
          assert.ok(error instanceof ProxyError);
          assert.match(
            error.message,
            /^nginx rejected the nginx server blocks of namespace dokku under the new naming \(.*berth-dokku-api\.conf -> .*berth\.dokku\.api\.conf\), they are left as they were: .*host not found; fix what nginx rejects/,
          );
          return true;
        },
      );
      assert.deepEqual(await readdir(dir), ['berth-dokku-api.conf']);
      assert.equal(await readFile(join(dir, 'berth-dokku-api.conf'), 'utf8'), text);
    });
  });
});
