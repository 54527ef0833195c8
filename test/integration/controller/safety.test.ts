import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { chmod, cp, open, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { join } from 'node:path';
import { eventually, type LogLine } from '../../support/berth-process.js';
import { buildTestImage, dockerCli } from '../../support/docker.js';
import { Scenario } from '../../support/scenario.js';

const REFUSALS = resolve('test/fixtures/refusals');

describe('berth run: safety (real engine)', function () {
  this.timeout(120_000);
  let world: Scenario;

  beforeEach(async () => {
    world = await Scenario.create();
  });
  afterEach(async () => world.cleanup());

  it('warns about a manifest directory others can write, and keeps its own state and lock private', async () => {
    await buildTestImage(`${world.namespace}/web`, 'v1');
    await world.writeManifest('web', { tag: 'v1', checks: { wait: 0 } });
    await chmod(world.manifests, 0o777);
    const berth = world.start();
    const warning = await berth.waitForLog((l) => l.source === 'permissions', 20_000);
    assert.match(
      warning.msg,
      /\(mode 0777\) is writable by its group and every user: anyone who can write a manifest can run containers on this host/,
    );
    await eventually(async () => (await world.running('web')).length === 1, 30_000, 'web running');
    const dir = join(world.stateDir, world.namespace);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'state.json'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'lock'))).mode & 0o777, 0o600);
  });

  it('never stops, removes or retags a container without berth.managed=true, whatever its other labels say', async () => {
    const id = await buildTestImage(`${world.namespace}/web`, 'v1');
    await buildTestImage(`${world.namespace}/keep`, 'v1');
    const impostor = `${world.namespace}-impostor`;
    await dockerCli([
      'run',
      '-d',
      '--name',
      impostor,
      '--label',
      `berth.namespace=${world.namespace}`,
      '--label',
      'berth.app=web',
      '--label',
      'berth.spec-hash=x',
      '--label',
      'berth.managed=false',
      id,
    ]);
    try {
      await world.writeManifest('web', { tag: 'v1', checks: { wait: 0 }, deploy: { retireAfter: 0 } });
      await world.writeManifest('keep', { tag: 'v1', checks: { wait: 0 } });
      world.start();
      await eventually(
        async () => (await world.containers('web')).filter((c) => c.labels['berth.managed'] === 'true').length === 1,
        30_000,
        'web deployed beside the impostor',
      );
      await rm(join(world.manifests, 'web.yaml'));
      await eventually(
        async () => (await world.containers('web')).every((c) => c.labels['berth.managed'] !== 'true'),
        30_000,
        'web removed',
      );
      const state = (await dockerCli(['inspect', '--format', '{{.State.Status}} {{.Image}}', impostor])).trim();
      assert.equal(state, `running ${id}`, 'the impostor runs on, untouched');
    } finally {
      await dockerCli(['rm', '-f', impostor]).catch(() => undefined);
    }
  });

  it('env values never reach logs, status, history, plan or the state file, even when the app prints them', async () => {
    const secret = `s3cret-${randomBytes(8).toString('hex')}`;
    await buildTestImage(`${world.namespace}/leaky`, 'v1');
    const spec = {
      tag: 'v1',
      env: { API_TOKEN: secret },
      command: ['sh', '-c', 'echo "token is $API_TOKEN"; env; exit 3'],
      checks: { wait: 2 },
    };
    await world.writeManifest('leaky', spec);
    const berth = world.start();
    await eventually(
      async () => (await world.status()).find((s) => s.app === 'leaky' && s.lastError),
      30_000,
      'the failed deploy reported',
    );
    await berth.waitForLog((l) => l.app === 'leaky' && /container output/.test(l.msg), 10_000);
    const texts = [
      JSON.stringify(berth.logs),
      berth.stderr,
      (await world.cli(['status', '--json'])).stdout,
      (await world.cli(['history', 'leaky', '--json'])).stdout,
      (await world.cli(['plan', '--manifests', world.manifests])).stdout,
      await readFile(join(world.stateDir, world.namespace, 'state.json'), 'utf8'),
    ];
    for (const text of texts) assert.ok(!text.includes(secret), `the secret leaked into: ${text.slice(0, 300)}`);
    assert.ok(texts[0]!.includes('token is <redacted>'), 'the container output is logged, redacted');
  });

  it('keeps good apps running and stays up beside the whole refusal corpus, junk included', async () => {
    const ids = {
      v1: await buildTestImage(`${world.namespace}/good`, 'v1'),
      v2: await buildTestImage(`${world.namespace}/good`, 'v2'),
    };
    await world.writeManifest('good', { tag: 'v1', checks: { wait: 0 }, deploy: { retireAfter: 0 } });
    const berth = world.start();
    await eventually(async () => (await world.running('good'))[0]?.imageId === ids.v1, 30_000, 'good running');

    await cp(REFUSALS, join(world.manifests, 'refusals'), { recursive: true });
    await writeFile(join(world.manifests, 'random-bytes.yaml'), randomBytes(64 * 1024));
    const big = await open(join(world.manifests, 'fifty-megabytes.yaml'), 'w');
    await big.truncate(50 * 1024 * 1024);
    await big.close();
    await symlink('/etc/passwd', join(world.manifests, 'escape.yaml'));
    await berth.waitForLog((l) => l.level >= 40 && String(l.msg).includes('fifty-megabytes.yaml'), 20_000);

    await world.writeManifest('good', { tag: 'v2', checks: { wait: 0 }, deploy: { retireAfter: 0 } });
    await eventually(
      async () => (await world.containers('good')).map((c) => c.imageId).join() === ids.v2,
      30_000,
      'good still deploys edits',
    );
    assert.equal(await Promise.race([berth.exit(), Promise.resolve('alive')]), 'alive');
    assert.ok(!/\n\s+at /.test(berth.stderr + JSON.stringify(berth.logs)), 'no stack trace anywhere');
    const validate = await world.cli(['validate', world.manifests]);
    assert.equal(validate.code, 1);
    assert.ok(
      validate.stdout
        .trim()
        .split('\n')
        .every((line) => line.startsWith(world.manifests)),
      'every problem line names its file',
    );
  });

  it('backs off a crash-looping deploy instead of hot-looping it, and says why', async function () {
    // Three attempts of up to ~20 s each on a slow engine (create, start, removing a restarting container), plus 6 s of backoff.
    this.timeout(180_000);
    await buildTestImage(`${world.namespace}/crashy`, 'v1');
    await world.writeManifest('crashy', { tag: 'v1', command: ['sh', '-c', 'exit 3'], checks: { wait: 1 } });
    const berth = world.start();
    // Three attempts; between a failure and the next attempt lies at least the backoff (2 s, then 4 s).
    const isAttempt = (l: LogLine) => l.app === 'crashy' && l.step === 'release';
    const isFailure = (l: LogLine) => l.app === 'crashy' && l.result === 'failed';
    await eventually(async () => berth.logs.filter(isFailure).length >= 3, 120_000, 'three failed attempts');
    const attempts = berth.logs.filter(isAttempt).map((l) => Number(l.time));
    const failures = berth.logs.filter(isFailure).map((l) => Number(l.time));
    for (const [i, backoffMs] of [2_000, 4_000].entries()) {
      const waited = (attempts[i + 1] ?? 0) - (failures[i] ?? 0);
      assert.ok(
        waited >= backoffMs - 100,
        `attempt ${i + 2} came ${waited} ms after failure ${i + 1}, not after the ${backoffMs} ms backoff (hot loop)`,
      );
    }
    // The third failure is followed by an 8 s backoff (then 16 s, ...), during which status shows Failed.
    const status = await eventually(
      async () => (await world.status()).find((s) => s.phase === 'Failed'),
      30_000,
      'Failed between retries',
    );
    assert.match(status.lastError ?? '', /exit code 3/);
    assert.equal((await world.running('crashy')).length, 0);
  });
});
