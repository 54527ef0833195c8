/**
 * The trust boundary against hostile paths, tried as the attacker would, for real: a local user
 * (`runuser -u nobody`) squatting or redirecting the secrets directory before and while berth
 * runs; manifests naming files outside the manifests directory, through a link, or another app's
 * secret; host-path volumes through a link to `/`, one made by a container, one made after the
 * app runs. Each asserts the attack fails, the message names the reason and quotes nothing of any
 * file, and what serves is not disturbed.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { chmod, lstat, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ageEncrypt, ageKeygen } from '../../support/age.js';
import { eventually, runCli, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage } from '../../support/docker.js';
import { Scenario } from '../../support/scenario.js';

/** Runs `args` as user nobody; resolves with the exit code and what it printed. */
function asNobody(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('runuser', ['-u', 'nobody', '--', ...args], (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

/** What /etc/passwd's first line starts with: no message may ever quote it. */
const PASSWD = 'root:x:0:0';

describe('trust: hostile paths (a local user, a manifest author, a container; real engine)', function () {
  this.timeout(120_000);
  let world: Scenario;
  let berth: BerthProcess;
  let victim: string;
  let allowed: string;
  const key = () => join(world.root, 'key.txt');
  const secretValue = 'sv-Kq31-web';
  const sharedValue = 'sv-Pp90-shared';
  const otherValue = 'sv-Rr12-other';
  const statusOf = async (app: string) => (await world.status()).find((a) => a.app === app);
  const secretsRecord = () => join(world.stateDir, world.namespace, 'secrets-dir');

  before(async () => {
    world = await Scenario.create();
    // A directory of someone else's that berth must never touch: its mode and files are checked after each attack.
    victim = join(world.root, 'victim');
    await mkdir(join(victim, 'web'), { recursive: true });
    await writeFile(join(victim, 'web', 'keep.txt'), 'precious');
    await chmod(victim, 0o755);
    allowed = join(world.root, 'allowed');
    await mkdir(allowed, { mode: 0o755 });
    // /tmp/berth-it-* is 0700: nobody must reach only what each attack gives it.
    await chmod(world.root, 0o755);
    await ageKeygen(key());
    await buildTestImage(`${world.namespace}/web`, 'v1', { body: 'web v1' });
    await ageEncrypt(key(), join(world.manifests, 'secrets', 'web', 'web.env.age'), `TOKEN=${secretValue}\n`);
    await ageEncrypt(key(), join(world.manifests, 'secrets', 'shared', 'ca.age'), sharedValue);
    await ageEncrypt(key(), join(world.manifests, 'secrets', 'other', 'db.age'), otherValue);
    await world.writeManifest('web', {
      tag: 'v1',
      envFrom: [{ file: 'secrets/web/web.env.age' }],
      secrets: [{ file: 'secrets/shared/ca.age', target: '/run/secrets/ca' }],
      checks: { wait: 0 },
    });
  });

  after(async () => {
    await world.cleanup();
    for (const entry of await readdir('/dev/shm'))
      if (entry.includes(world.namespace)) await rm(join('/dev/shm', entry), { recursive: true, force: true });
  });

  it('refuses at start a --secrets-dir another user made first, or a link another user planted, naming the path; the target is untouched', async () => {
    const squatted = join('/dev/shm', `berth-squat-${world.namespace}`);
    assert.equal((await asNobody(['mkdir', squatted])).code, 0);
    const taken = await runCli([
      'run',
      '--once',
      '--manifests',
      world.manifests,
      ...world.flags(),
      '--age-identity',
      key(),
      '--secrets-dir',
      squatted,
    ]);
    assert.equal(taken.code, 1);
    assert.match(
      taken.stderr,
      new RegExp(
        `^berth: refusing the directory ${squatted}: is owned by uid 65534, neither root nor berth's user\\n$`,
      ),
    );

    // The first attack of the review: `<secrets-dir>/<namespace> -> elsewhere`, planted by nobody in world-writable /dev/shm.
    assert.equal((await asNobody(['ln', '-s', victim, join('/dev/shm', world.namespace)])).code, 0);
    const linked = await runCli([
      'run',
      '--once',
      '--manifests',
      world.manifests,
      ...world.flags(),
      '--age-identity',
      key(),
      '--secrets-dir',
      '/dev/shm',
    ]);
    assert.equal(linked.code, 1);
    assert.match(
      linked.stderr,
      new RegExp(
        `^berth: refusing the directory /dev/shm/${world.namespace}: is a symbolic link in /dev/shm, which other users can write\\n$`,
      ),
    );
    assert.equal((await stat(victim)).mode & 0o777, 0o755, 'the target keeps its mode');
    assert.equal(await readFile(join(victim, 'web', 'keep.txt'), 'utf8'), 'precious', 'the target keeps its files');
  });

  it('by default puts decrypted secrets in a directory of a name it chose and recorded, which no other user can read, enter or plant in', async () => {
    berth = world.start(['--age-identity', key(), '--allow-host-path', allowed]);
    await eventually(async () => (await statusOf('web'))?.phase === 'Running', 40_000, 'web Running');
    const dir = (await readFile(secretsRecord(), 'utf8')).trim();
    assert.match(dir, new RegExp(`^/dev/shm/berth-${world.namespace}-[0-9a-f]{16}$`));
    const info = await lstat(dir);
    assert.ok(info.isDirectory() && !info.isSymbolicLink());
    assert.equal(info.uid, process.getuid!());
    assert.equal(info.mode & 0o777, 0o700);
    const [digest] = await readdir(join(dir, 'web'));
    const file = join(dir, 'web', digest!, '0');
    assert.equal(await readFile(file, 'utf8'), sharedValue, 'root reads the file it mounts');
    const read = await asNobody(['cat', file]);
    assert.notEqual(read.code, 0, 'nobody cannot read a decrypted secret');
    assert.ok(!read.output.includes(sharedValue));
    assert.notEqual(
      (await asNobody(['ln', '-s', victim, join(dir, 'web', 'planted')])).code,
      0,
      'nobody cannot plant a link inside',
    );
    assert.notEqual((await asNobody(['ls', dir])).code, 0, 'nobody cannot list it');
  });

  it("a manifest names files inside the manifests directory only, never another app's secret; the messages quote nothing of any file", async () => {
    await symlink('/etc/passwd', join(world.manifests, 'secrets', 'link.age'));
    // Inside the directory and its own, but not age: the decrypter must not quote it.
    await mkdir(join(world.manifests, 'secrets', 'notage'));
    await writeFile(join(world.manifests, 'secrets', 'notage', 'x.age'), `${PASSWD}:root:/root:/bin/bash\n`);
    const evil: [string, Record<string, unknown>, RegExp][] = [
      [
        'abs',
        { envFrom: [{ file: '/etc/passwd' }] },
        /\/etc\/passwd: is outside the manifests directory; a manifest names files inside it only$/,
      ],
      [
        'dots',
        { envFrom: [{ file: '../../../../../../../../etc/passwd' }] },
        /\/etc\/passwd: is outside the manifests directory/,
      ],
      [
        'link',
        { secrets: [{ file: 'secrets/link.age', target: '/run/secrets/x' }] },
        /secrets\/link\.age: leads outside the manifests directory \(through a symbolic link\)/,
      ],
      [
        'thief',
        { secrets: [{ file: 'secrets/other/db.age', target: '/run/secrets/x' }] },
        /secrets\/other\/db\.age: is app other's secret \(secrets\/other\/\); app thief may read secrets\/thief\/, secrets\/shared\/ and files directly in secrets\/$/,
      ],
      [
        'notage',
        { envFrom: [{ file: 'secrets/notage/x.age' }] },
        /secrets\/notage\/x\.age: cannot decrypt: not a valid age file$/,
      ],
    ];
    for (const [name, spec] of evil)
      await world.writeManifest(name, { tag: 'v1', image: `${world.namespace}/web`, ...spec });
    const validate = await world.cli(['validate', world.manifests, '--age-identity', key()]);
    assert.equal(validate.code, 1);
    const plan = await world.cli([
      'plan',
      '--manifests',
      world.manifests,
      '--age-identity',
      key(),
      '--allow-host-path',
      allowed,
    ]);
    assert.equal(plan.code, 1);
    const keyless = await world.cli(['validate', world.manifests]);
    assert.equal(keyless.code, 1, 'validate without keys checks where the files are too');
    for (const [name, , message] of evil) {
      const line = new RegExp(`${name}\\.yaml:\\d+:\\d+: \\S*${message.source}`, 'm');
      assert.match(validate.stdout, line, `validate: ${name}`);
      assert.match(plan.stdout, line, `plan: ${name}`);
      if (name !== 'notage') assert.match(keyless.stdout, line, `validate without keys: ${name}`);
      const status = await eventually(
        async () => {
          const s = await statusOf(name);
          return s?.phase === 'Invalid' ? s : undefined;
        },
        20_000,
        `${name} Invalid`,
      );
      assert.match(status.message, message);
      assert.equal((await world.containers(name)).length, 0, `${name} never runs`);
    }
    for (const text of [
      validate.stdout,
      plan.stdout,
      keyless.stdout,
      JSON.stringify(berth.logs),
      JSON.stringify(await world.status()),
    ]) {
      assert.ok(!text.includes(PASSWD), 'nothing of /etc/passwd is quoted');
      assert.ok(!text.includes(otherValue), "another app's secret is never decrypted into a message");
    }
    assert.equal((await statusOf('web'))?.phase, 'Running', 'the app beside them serves on');
    for (const [name] of evil) await rm(join(world.manifests, `${name}.yaml`));
  });

  it('refuses a host path through a link to /, one a container made, and one made after the app runs; the running app is untouched', async () => {
    // A link planted beforehand under the allowed prefix.
    await mkdir(join(allowed, 'app1'));
    await symlink('/', join(allowed, 'app1', 'root'));
    await world.writeManifest('hp1', {
      tag: 'v1',
      image: `${world.namespace}/web`,
      volumes: [{ source: join(allowed, 'app1', 'root', 'etc'), target: '/mnt' }],
    });
    const hp1 = await eventually(
      async () => {
        const s = await statusOf('hp1');
        return s?.phase === 'Invalid' ? s : undefined;
      },
      20_000,
      'hp1 Invalid',
    );
    assert.match(
      hp1.message,
      new RegExp(
        `host path ${join(allowed, 'app1', 'root', 'etc')} leads through a symbolic link at ${join(allowed, 'app1', 'root')}; berth mounts no host path through a link$`,
      ),
    );
    assert.equal((await world.containers('hp1')).length, 0);

    // A container with a writable bind under the prefix makes the link itself: nothing inside its bind is mounted for anyone
    // (the engine would follow the link at the next restart of that container, whatever berth checked before).
    await mkdir(join(allowed, 'app2'));
    await world.writeManifest('writer', {
      tag: 'v1',
      image: `${world.namespace}/web`,
      command: ['/bin/sh', '-c', 'ln -sfn / /data/root; exec /bin/busybox httpd -f -p 8080 -h /www'],
      volumes: [{ source: join(allowed, 'app2'), target: '/data' }],
      checks: { wait: 0 },
    });
    await eventually(async () => (await statusOf('writer'))?.phase === 'Running', 30_000, 'writer Running');
    await eventually(
      async () => (await lstat(join(allowed, 'app2', 'root')).catch(() => undefined))?.isSymbolicLink(),
      10_000,
      'the container made its link',
    );
    await world.writeManifest('hp2', {
      tag: 'v1',
      image: `${world.namespace}/web`,
      volumes: [{ source: join(allowed, 'app2', 'root'), target: '/host', readOnly: true }],
    });
    const hp2 = await eventually(
      async () => {
        const s = await statusOf('hp2');
        return s?.phase === 'Invalid' ? s : undefined;
      },
      20_000,
      'hp2 Invalid',
    );
    assert.match(
      hp2.message,
      new RegExp(
        `host path ${join(allowed, 'app2', 'root')} lies inside ${join(allowed, 'app2')}, which app writer mounts writable: its container could put a link on the way$`,
      ),
    );
    assert.equal((await world.containers('hp2')).length, 0, "the host's / is never mounted");

    // A link made after the app runs: the next read of the manifests (any change, or the resync) reports the app; it keeps running.
    await mkdir(join(allowed, 'app3', 'data'), { recursive: true });
    const hp3Spec = {
      tag: 'v1',
      image: `${world.namespace}/web`,
      volumes: [{ source: join(allowed, 'app3', 'data'), target: '/data' }],
      checks: { wait: 0 },
    };
    await world.writeManifest('hp3', hp3Spec);
    await eventually(async () => (await statusOf('hp3'))?.phase === 'Running', 30_000, 'hp3 Running');
    const serving = (await world.running('hp3'))[0]!.id;
    await rename(join(allowed, 'app3', 'data'), join(allowed, 'app3', 'moved'));
    await symlink('/', join(allowed, 'app3', 'data'));
    await world.writeManifest('hp3', hp3Spec); // the same text: only a new read of the directory
    const hp3 = await eventually(
      async () => {
        const s = await statusOf('hp3');
        return s?.phase === 'Invalid' ? s : undefined;
      },
      20_000,
      'hp3 reported',
    );
    assert.match(hp3.message, /host path .*app3\/data leads through a symbolic link/);
    assert.deepEqual(
      (await world.running('hp3')).map((c) => c.id),
      [serving],
      'the running revision is not disturbed',
    );
  });

  it("removes an app's decrypted files with it, through the verified path only", async () => {
    const dir = (await readFile(secretsRecord(), 'utf8')).trim();
    await rm(join(world.manifests, 'web.yaml'));
    await eventually(async () => (await world.running('web')).length === 0, 30_000, 'web removed');
    await eventually(
      async () =>
        lstat(join(dir, 'web')).then(
          () => false,
          () => true,
        ),
      15_000,
      'its secret files gone',
    );
    assert.equal(await readFile(join(victim, 'web', 'keep.txt'), 'utf8'), 'precious');
    assert.equal(await berth.stop(), 0);
  });
});
