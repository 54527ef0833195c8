import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyError } from '../../../src/proxy/errors.js';
import { NginxRouter } from '../../../src/proxy/nginx-router.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
import { testApp } from '../../support/apps.js';

/** The router's file handling, with shell commands standing in for `nginx -t` and the reload. */
describe('NginxRouter', () => {
  let dir: string;
  let log: string;
  const router = (options: { test?: string; defaultDomain?: string } = {}) =>
    new NginxRouter(
      { namespace: 'dokku', confDir: dir, listen: '80', testCommand: options.test ?? `echo test >> ${log}`, reloadCommand: `echo reload >> ${log}`, ...(options.defaultDomain ? { defaultDomain: options.defaultDomain } : {}) },
      silentLogger(),
    );
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
    assert.match(await readFile(join(dir, 'berth-dokku-web.conf'), 'utf8'), /server_name web\.apps\.test;/);
    assert.deepEqual(await commands(), ['test', 'reload']);
  });

  it('rejects with ProxyError naming the file when the config directory cannot be written, and reloads nothing', async () => {
    const notADirectory = join(dir, 'conf.d');
    await writeFile(notADirectory, '');
    const broken = new NginxRouter({ namespace: 'dokku', confDir: notADirectory, listen: '80', testCommand: `echo test >> ${log}`, reloadCommand: `echo reload >> ${log}`, defaultDomain: 'apps.test' }, silentLogger());
    await assert.rejects(broken.route(testApp('web'), ['127.0.0.1:32768']), (error: unknown) => error instanceof ProxyError && /cannot write the nginx configuration .*conf\.d\/berth-dokku-web\.conf, the previous one is kept: ENOTDIR/.test(error.message));
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
    const before = await readFile(join(dir, 'berth-dokku-web.conf'), 'utf8');
    await writeFile(log, '');
    await assert.rejects(router({ test: 'echo "nginx: [emerg] unknown directive" >&2; exit 1' }).route(app, ['127.0.0.1:40000']), (error: unknown) => {
      assert.ok(error instanceof ProxyError);
      assert.match(error.message, /rejected.*unknown directive/);
      return true;
    });
    assert.equal(await readFile(join(dir, 'berth-dokku-web.conf'), 'utf8'), before);
    assert.deepEqual(await commands(), []);
  });

  it('removes a rejected first block entirely', async () => {
    await assert.rejects(router({ test: 'exit 1' }).route(testApp('web', { domains: ['web.example.test'] }), []), ProxyError);
    assert.deepEqual(await readdir(dir), []);
  });

  it('isRouted is true only while the block on disk is the one route() would write', async () => {
    const r = router();
    const app = testApp('web', { domains: ['web.example.test'] });
    assert.equal(await r.isRouted(app, ['127.0.0.1:32768']), false);
    await r.route(app, ['127.0.0.1:32768']);
    assert.equal(await r.isRouted(app, ['127.0.0.1:32768']), true);
    assert.equal(await r.isRouted(app, ['127.0.0.1:40000']), false);
    await writeFile(join(dir, 'berth-dokku-web.conf'), '# edited by hand\n');
    assert.equal(await r.isRouted(app, ['127.0.0.1:32768']), false);
    await rm(join(dir, 'berth-dokku-web.conf'));
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
});
