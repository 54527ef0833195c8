/**
 * Secrets encrypted with Debian's real `age` (interop, not a round trip through berth's own code):
 * an env file and a secret file reach the container; rotating one redeploys; no value shows in
 * logs, the state directory, /api/apps, /metrics, the status page or plan; bad input leaves the
 * app Invalid with one line while the running revision serves; the tmpfs files go with the app.
 */
import { strict as assert } from 'node:assert';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { ageEncrypt, ageKeygen } from '../../support/age.js';
import { buildTestImage, dockerCli } from '../../support/docker.js';
import { freePort } from '../../support/nginx.js';
import { Scenario } from '../../support/scenario.js';

describe('secrets: age-encrypted env files and secret files (real age, real engine)', function () {
  this.timeout(120_000);
  let world: Scenario;
  let berth: BerthProcess;
  let listen: number;
  let secretsDir: string;
  const values = {
    password: 'pw-Zq81-first',
    token: 'tok-Hh27-first',
    file: 'file-Xy55-first',
    rotated: 'pw-Zq81-second',
  };

  const encrypt = (name: string, text: string, identity = 'key.txt') =>
    ageEncrypt(join(world.root, identity), join(world.manifests, 'secrets', name), text);
  const spec = (tag: string) => ({
    tag,
    env: { MODE: 'production' },
    envFrom: [{ file: 'secrets/web.env.age' }],
    secrets: [{ file: 'secrets/db.age', target: '/run/secrets/db_password' }],
    checks: { wait: 0 },
  });
  const container = async () => (await world.running('web'))[0]!;
  const web = async () => (await world.status()).find((a) => a.app === 'web');

  before(async () => {
    world = await Scenario.create();
    secretsDir = join('/dev/shm', `berth-test-${world.namespace}`);
    await ageKeygen(join(world.root, 'key.txt'));
    await ageKeygen(join(world.root, 'other.txt'));
    await buildTestImage(`${world.namespace}/web`, 'v1', { body: 'web v1' });
    await encrypt('web.env.age', `# app secrets\nDB_PASSWORD=${values.password}\nexport API_TOKEN="${values.token}"\n`);
    await encrypt('db.age', values.file);
    await world.writeManifest('web', spec('v1'));
    listen = await freePort();
    berth = world.start([
      '--age-identity',
      join(world.root, 'key.txt'),
      '--secrets-dir',
      secretsDir,
      '--listen',
      `127.0.0.1:${listen}`,
    ]);
  });
  after(async () => {
    await world.cleanup();
    await rm(secretsDir, { recursive: true, force: true });
  });

  it("puts the env file's variables in the container's env and the secret file at its target, read-only", async () => {
    await eventually(async () => (await web())?.phase === 'Running', 30_000, 'web Running');
    const c = await container();
    const env = await dockerCli(['exec', c.id, '/bin/busybox', 'env']);
    assert.match(env, new RegExp(`^DB_PASSWORD=${values.password}$`, 'm'));
    assert.match(env, new RegExp(`^API_TOKEN=${values.token}$`, 'm'));
    assert.match(env, /^MODE=production$/m);
    assert.equal(await dockerCli(['exec', c.id, '/bin/busybox', 'cat', '/run/secrets/db_password']), values.file);
    await assert.rejects(dockerCli(['exec', c.id, '/bin/sh', '-c', 'echo x > /run/secrets/db_password']), /Read-only/i);
    const dir = join(secretsDir, world.namespace, 'web');
    assert.equal(((await stat(dir)).mode & 0o777).toString(8), '700', 'a directory only its owner enters');
  });

  it('rotating a secret (a new encrypted file) is a new revision, deployed like any change; plan says which key changed, never its value', async () => {
    const before = (await container()).id;
    await encrypt('web.env.age', `DB_PASSWORD=${values.rotated}\nAPI_TOKEN="${values.token}"\n`);
    await berth.stop();
    const plan = await world.cli([
      'plan',
      '--manifests',
      world.manifests,
      '--age-identity',
      join(world.root, 'key.txt'),
    ]);
    assert.match(plan.stdout, /~ env\s+DB_PASSWORD: \(secret changed\)/);
    assert.doesNotMatch(plan.stdout, /~ env\s+API_TOKEN/, 'an unchanged secret is no change');
    for (const value of Object.values(values)) assert.ok(!plan.stdout.includes(value), 'plan shows no value');
    berth = world.start([
      '--age-identity',
      join(world.root, 'key.txt'),
      '--secrets-dir',
      secretsDir,
      '--listen',
      `127.0.0.1:${listen}`,
    ]);
    await eventually(
      async () => (await world.running('web')).length === 1 && (await container()).id !== before,
      30_000,
      'a new container',
    );
    assert.match(
      await dockerCli(['exec', (await container()).id, '/bin/busybox', 'env']),
      new RegExp(`^DB_PASSWORD=${values.rotated}$`, 'm'),
    );
    await eventually(
      async () => (await readdir(join(secretsDir, world.namespace, 'web'))).length === 1,
      15_000,
      "the old revision's secret files gone",
    );
  });

  it('no value anywhere berth writes or shows: logs, state directory, /api/apps, /metrics, the status page, history, events', async () => {
    const texts = [
      berth.logs.map((l) => JSON.stringify(l)).join('\n') + berth.stderr,
      await (await fetch(`http://127.0.0.1:${listen}/api/apps`)).text(),
      await (await fetch(`http://127.0.0.1:${listen}/metrics`)).text(),
      await (await fetch(`http://127.0.0.1:${listen}/`)).text(),
      await (await fetch(`http://127.0.0.1:${listen}/api/events`)).text(),
      (await world.cli(['status', '--json'])).stdout,
      (await world.cli(['history', 'web', '--json'])).stdout,
    ];
    for (const file of await readdir(world.stateDir, { recursive: true })) {
      const path = join(world.stateDir, String(file));
      if ((await stat(path)).isFile()) texts.push(await readFile(path, 'latin1'));
    }
    for (const value of Object.values(values)) {
      for (const text of texts) assert.ok(!text.includes(value), `"${value}" was found in what berth wrote`);
    }
  });

  it('bad input loses nothing: no key, another key, a corrupt file, an oversized file: Invalid with one line, the revision keeps serving', async () => {
    const serving = (await container()).id;
    const cases: [string, () => Promise<void>, RegExp][] = [
      [
        'another key',
        () => encrypt('db.age', 'x', 'other.txt'),
        /web\.yaml:\d+:\d+: .*secrets\/db\.age: cannot decrypt: it is encrypted to another key than the identities berth was given/,
      ],
      [
        'a corrupt file',
        () => writeFile(join(world.manifests, 'secrets', 'db.age'), 'age-encryption.org/v1\n-> garbage\n'),
        /secrets\/db\.age: cannot decrypt: not a valid age file/,
      ],
      [
        'an oversized file',
        () => writeFile(join(world.manifests, 'secrets', 'db.age'), Buffer.alloc(70 * 1024)),
        /secrets\/db\.age: 71680 bytes, over the 64 KiB limit for secret files/,
      ],
      ['a missing file', () => rm(join(world.manifests, 'secrets', 'db.age')), /secrets\/db\.age: no such file/],
    ];
    for (const [what, breakIt, message] of cases) {
      await breakIt();
      await world.writeManifest('web', spec('v1'));
      const invalid = await eventually(
        async () => {
          const status = await web();
          return status?.phase === 'Invalid' && message.test(status.message) ? status : undefined;
        },
        15_000,
        `Invalid for ${what}`,
      );
      assert.ok(!invalid.message.includes('\n'), 'one line');
      assert.equal((await container()).id, serving, `${what}: the running revision keeps serving`);
    }
    // No key at all: what `plan` (and a berth started without --age-identity) says.
    await encrypt('db.age', values.file);
    const plan = await world.cli(['plan', '--manifests', world.manifests]);
    assert.equal(plan.code, 1);
    assert.match(
      plan.stdout,
      /^! .*web\.yaml:\d+:\d+: .*secrets\/web\.env\.age: cannot decrypt: berth was given no identity \(--age-identity FILE or BERTH_AGE_IDENTITY_FILE\)$/m,
    );
    // validate checks manifests without keys, and decryption only when given them.
    assert.equal((await world.cli(['validate', world.manifests])).code, 0);
    const checked = await world.cli(['validate', world.manifests, '--age-identity', join(world.root, 'other.txt')]);
    assert.equal(checked.code, 1);
    assert.match(
      checked.stdout,
      /web\.yaml:\d+:\d+: .*secrets\/web\.env\.age: cannot decrypt: it is encrypted to another key/,
    );
  });

  it('removes the decrypted files with the app', async () => {
    await world.writeManifest('keep', { tag: 'v1', image: `${world.namespace}/web`, checks: { wait: 0 } });
    await eventually(
      async () => (await world.status()).find((a) => a.app === 'keep' && a.phase === 'Running'),
      30_000,
      'keep Running',
    );
    await rm(join(world.manifests, 'web.yaml'));
    await eventually(async () => (await world.running('web')).length === 0, 30_000, 'web removed');
    await eventually(
      async () =>
        stat(join(secretsDir, world.namespace, 'web')).then(
          () => false,
          () => true,
        ),
      15_000,
      'its secret files gone',
    );
    assert.equal(await berth.stop(), 0);
  });
});
