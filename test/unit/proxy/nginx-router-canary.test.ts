import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { NginxRouter } from '../../../src/proxy/nginx-router.js';
import { testApp } from '../../support/apps.js';

/** The router with a canary split and an access log: what it writes, what it says, what it compares. */
describe('NginxRouter with a canary and an access log', () => {
  const TOKEN = 'Zq0-secret_token_0123456789';
  const accessLog = { address: '127.0.0.1:51413', token: TOKEN };
  const app = testApp('web', { domains: ['web.example.test'] });
  const stable = ['127.0.0.1:32768'];
  const canary = { endpoints: ['127.0.0.1:32769'], percent: 10 };
  let dir: string;
  let logs: string[];
  const router = () =>
    new NginxRouter(
      { namespace: 'dokku', confDir: dir, listen: '80', testCommand: 'true', reloadCommand: 'true' },
      pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }),
    );
  const file = () => join(dir, 'berth.dokku.web.conf');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-router-canary-'));
    logs = [];
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('writes the split and the log, owner-readable only, and says so without the token', async () => {
    await router().route(app, stable, { canary, accessLog });
    const text = await readFile(file(), 'utf8');
    assert.match(text, /server 127\.0\.0\.1:32768 weight=9 max_fails=0;/);
    assert.match(text, /server 127\.0\.0\.1:32769 weight=1 max_fails=0;/);
    assert.match(text, /access_log syslog:server=127\.0\.0\.1:51413,tag=berth,nohostname berth\.dokku\.web\.access;/);
    assert.equal((await stat(file())).mode & 0o777, 0o600);
    const said = logs.join('');
    assert.match(said, /canary 127\.0\.0\.1:32769 at 10%/);
    assert.match(said, /access log to 127\.0\.0\.1:51413/);
    assert.ok(!said.includes(TOKEN), 'the token is never logged');
  });

  it('goes back to 0644 once the access log is gone', async () => {
    await router().route(app, stable, { canary, accessLog });
    await router().route(app, [...stable, ...canary.endpoints]);
    assert.equal((await stat(file())).mode & 0o777, 0o644);
    assert.doesNotMatch(await readFile(file(), 'utf8'), /weight=|access_log/);
  });

  it('is routed only for the same split, percent and log', async () => {
    const r = router();
    await r.route(app, stable, { canary, accessLog });
    assert.equal(await r.isRouted(app, stable, { canary, accessLog }), true);
    assert.equal(await r.isRouted(app, stable, { canary: { ...canary, percent: 25 }, accessLog }), false);
    assert.equal(await r.isRouted(app, stable, { canary }), false);
    assert.equal(await r.isRouted(app, stable, { canary, accessLog: { ...accessLog, token: `${TOKEN}x` } }), false);
    assert.equal(await r.isRouted(app, stable), false);
  });

  it('rejects an unsafe log target and leaves the previous block in place', async () => {
    const r = router();
    await r.route(app, stable);
    const before = await readFile(file(), 'utf8');
    await assert.rejects(
      r.route(app, stable, { canary, accessLog: { address: '10.1.2.3:514', token: TOKEN } }),
      RangeError,
    );
    assert.equal(await readFile(file(), 'utf8'), before);
  });
});
