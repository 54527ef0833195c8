/**
 * The trust boundary against a hostile ACME CA, tried as that CA would, for real: a tiny HTTPS
 * ACME server on loopback (test/support/hostile-acme.ts) answers berth's orders with http-01
 * challenge tokens that climb out of the challenge directory (`../../../<name>`, which lands in
 * the nginx conf dir), one onto a file that exists and one onto a name that does not, and a long
 * one full of terminal escapes. berth runs with a real nginx and a real engine. Asserts that no
 * file is created, written or removed at the traversal targets (an inotify watch on the directory
 * sees every event), that the failure names the reason in one bounded line, and that the app goes
 * on being served.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage } from '../../support/docker.js';
import { HostileAcme } from '../../support/hostile-acme.js';
import { freePort, PrivateNginx } from '../../support/nginx.js';
import { Scenario } from '../../support/scenario.js';

const EXISTING = 'exists.example.test';
const ABSENT = 'absent.example.test';
const NOISY = 'noisy.example.test';

describe('trust: a hostile ACME server (challenge tokens as file names; real nginx, real engine)', function () {
  this.timeout(120_000);
  let world: Scenario;
  let nginx: PrivateNginx;
  let ca: HostileAcme;
  let berth: BerthProcess;
  let watcher: FSWatcher;
  /** Names the inotify watch on the nginx conf dir saw an event for. */
  const touched: string[] = [];
  const unique = randomBytes(6).toString('hex');
  const victim = `berth-victim-${unique}`;
  const absent = `berth-absent-${unique}`;
  const tokens: Record<string, string> = {
    [EXISTING]: `../../../${victim}`,
    [ABSENT]: `../../../${absent}`,
    [NOISY]: `\u001b]0;owned\u0007\u001b[2J../../${'A'.repeat(5_000)}`,
  };
  const certificates = async () => (await world.status()).find((a) => a.app === 'shop')?.certificates ?? [];

  before(async () => {
    world = await Scenario.create();
    nginx = await PrivateNginx.start({ tlsPort: await freePort() });
    ca = await HostileAcme.start((domain) => tokens[domain] ?? 'unexpected-domain');
    // What the first token climbs onto: a file of someone's, there before berth starts.
    await writeFile(join(nginx.confDir, victim), 'precious\n');
    watcher = watch(nginx.confDir, (_event, name) => {
      if (name !== null) touched.push(String(name));
    });
    await buildTestImage(`${world.namespace}/shop`, 'v1', { body: 'shop v1' });
    await world.writeManifest('shop', {
      tag: 'v1',
      domains: [EXISTING, ABSENT, NOISY],
      replicas: 1,
      checks: { wait: 0 },
    });
    berth = world.start([
      ...nginx.berthFlags(),
      '--acme-directory',
      ca.directoryUrl,
      '--acme-email',
      'ops@example.test',
      '--acme-ca-file',
      ca.caFile,
    ]);
  });

  after(async () => {
    watcher?.close();
    await world?.cleanup();
    await nginx?.stop();
    await ca?.stop();
  });

  it('refuses a token that climbs out of the challenge directory: nothing created, written or removed there, the reason named, the app still served', async () => {
    await eventually(
      async () => (await nginx.get(EXISTING).catch(() => undefined))?.body === 'shop v1',
      60_000,
      'shop served over plain HTTP',
    );
    const failed = await eventually(
      async () => {
        const all = await certificates();
        return all.length === 3 && all.every((c) => c.state === 'failed' && c.error !== undefined) ? all : undefined;
      },
      60_000,
      'all three orders failed',
    );
    const errorOf = (domain: string) => failed.find((c) => c.domain === domain)?.error ?? '';

    // The files the tokens point at: the existing one as it was, the absent one never made.
    assert.equal(await readFile(join(nginx.confDir, victim), 'utf8'), 'precious\n');
    await assert.rejects(stat(join(nginx.confDir, absent)), { code: 'ENOENT' });
    assert.deepEqual(
      touched.filter((name) => name.startsWith('berth-victim-') || name.startsWith('berth-absent-')),
      [],
      'no create, write or delete event at either target',
    );
    // Nothing in the challenge directory either: no token file was written anywhere.
    const challengeDir = join(nginx.confDir, `berth-${world.namespace}-acme`, '.well-known', 'acme-challenge');
    assert.deepEqual(await readdir(challengeDir), []);
    assert.equal(
      (await stat(challengeDir)).mode & 0o7777,
      0o755,
      "nginx's workers can read it, no one else can write it",
    );

    assert.equal(
      errorOf(EXISTING),
      `${EXISTING}: the ACME server's challenge token "../../../${victim}" is not base64url (only A-Z, a-z, 0-9, - and _): it names no file, nothing was written`,
    );
    assert.equal(
      errorOf(ABSENT),
      `${ABSENT}: the ACME server's challenge token "../../../${absent}" is not base64url (only A-Z, a-z, 0-9, - and _): it names no file, nothing was written`,
    );
    // The long one: quoted in part, control characters gone, one bounded line.
    assert.match(
      errorOf(NOISY),
      /^noisy\.example\.test: the ACME server's challenge token "\.\.\/\.\.\/A{34}"\.\.\. \(5020 characters\) is not base64url/,
    );
    assert.ok(errorOf(NOISY).length < 250, `${errorOf(NOISY).length} characters`);
    for (const domain of [EXISTING, ABSENT, NOISY])
      assert.doesNotMatch(errorOf(domain), /[\u0000-\u001f\u007f-\u009f]/);

    // berth never told the CA the challenge was ready (it asks the CA to validate only after writing the file).
    assert.deepEqual(
      ca.requests.filter((r) => r.path.startsWith('/chall/')),
      [],
    );
    // The reason reached the log and the events, once per domain.
    const warned = berth.logs.filter(
      (l) => l.level === 40 && /^Certificate for .* not issued: .*challenge token/.test(l.msg),
    );
    assert.deepEqual(warned.map((l) => l.domain).sort(), [ABSENT, EXISTING, NOISY]);
    const events = JSON.parse((await world.cli(['events', 'shop', '--json'])).stdout) as {
      type: string;
      message: string;
    }[];
    assert.match(
      events.find((e) => e.type === 'certificate.failed')?.message ?? '',
      /^certificate for \S+ not issued: \S+: the ACME server's challenge token ".*" is not base64url/,
    );

    // Nothing that serves is disturbed: every domain still answers over plain HTTP, the challenge path too, and berth runs on.
    for (const domain of [EXISTING, ABSENT, NOISY])
      assert.deepEqual(await nginx.get(domain), { status: 200, body: 'shop v1' }, domain);
    assert.equal((await nginx.get(EXISTING, '/.well-known/acme-challenge/unknown')).status, 404);
    assert.equal(
      await Promise.race([
        berth.exit().then(() => 'exited'),
        new Promise((resolve) => setTimeout(() => resolve('running'), 100)),
      ]),
      'running',
    );
  });
});
