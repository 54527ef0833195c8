/**
 * The container image as a user runs it: the Debian base made from Debian's archive
 * (packaging/base-image.sh, mmdebstrap), `docker build --network host`, then the README's
 * `docker run` (temp directories for /etc/berth/manifests, a unique name and namespace, loopback
 * ports) against the host's engine with the example manifests. Everything made is removed after:
 * the container, its state volume, the images (the base too, when this test made it), the apps.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from '../../support/berth-process.js';
import { cleanupNamespace, dockerCli, uniqueNamespace } from '../../support/docker.js';
import { startLoad } from '../../support/load.js';
import { freePort, getWithHost } from '../../support/nginx.js';

const run = promisify(execFile);
const REPOSITORY = resolve('.');

interface Inspected {
  Id: string;
  RestartCount: number;
  State: { Status: string; ExitCode: number; StartedAt: string; Health?: { Status: string } };
  Config: { Labels: Record<string, string> | null };
}

async function inspect(name: string): Promise<Inspected> {
  return (JSON.parse(await dockerCli(['inspect', name])) as Inspected[])[0]!;
}

/** The namespace's app containers: id and start time, by name. */
async function apps(namespace: string): Promise<Map<string, string>> {
  const ids = (await dockerCli(['ps', '-q', '--no-trunc', '--filter', `label=berth.namespace=${namespace}`]))
    .split('\n')
    .filter(Boolean);
  const result = new Map<string, string>();
  for (const id of ids) result.set(id, (await inspect(id)).State.StartedAt);
  return result;
}

describe('the container image (Dockerfile, base made with mmdebstrap, berth beside its apps)', function () {
  this.timeout(300_000);
  const suffix = uniqueNamespace('');
  const namespace = uniqueNamespace('img');
  const image = `berth-it:${suffix}`;
  const buildStage = `berth-it-build:${suffix}`;
  const container = `berth-it-${suffix}`;
  const volume = `berth-it-state-${suffix}`;
  const host = `hello.${namespace}.test`;
  let base = '';
  let madeBase = false;
  let root = '';
  let secretsDir = '';
  let manifest = '';
  let listenPort = 0;
  let proxyPort = 0;
  const timings: string[] = [];

  const timed = async <T>(what: string, step: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    const value = await step();
    timings.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return value;
  };
  const healthy = (what: string) =>
    eventually(async () => (await inspect(container)).State.Health?.Status === 'healthy', 90_000, what, 1_000);
  const serves = (body: string) =>
    eventually(
      async () => (await getWithHost(proxyPort, host)).body.includes(body),
      60_000,
      `nginx inside to serve "${body}"`,
    );

  before(async function () {
    // Making the base (when .ci/run has not) takes from half a minute to four on a busy machine.
    this.timeout(600_000);
    root = await mkdtemp(join(tmpdir(), 'berth-it-image-'));
    base = (await run('bash', ['packaging/base-image.sh', '--print-name'], { cwd: REPOSITORY })).stdout.trim();
    madeBase = !(await dockerCli(['image', 'inspect', base]).then(
      () => true,
      () => false,
    ));
    await timed('base image', () => run('bash', ['packaging/base-image.sh', base], { cwd: REPOSITORY }));
    // The CAs this host trusts locally (Debian's place for them), for a TLS-intercepting proxy
    // between the build stage and the npm registry.
    const localCas = '/usr/local/share/ca-certificates';
    const caFiles = (await readdir(localCas).catch(() => [] as string[])).filter((f) => f.endsWith('.crt'));
    const extraCas = (await Promise.all(caFiles.map((f) => readFile(join(localCas, f), 'utf8')))).join('\n');
    // The build stage tagged too, so that its layers (the legacy builder keeps them) go with it.
    const build = (target: string[], tag: string) =>
      run(
        'docker',
        [
          'build',
          '--network',
          'host',
          '--force-rm',
          '-q',
          '--build-arg',
          `BASE=${base}`,
          '--build-arg',
          `EXTRA_CA_CERTS=${extraCas}`,
          ...target,
          '-t',
          tag,
          '.',
        ],
        { cwd: REPOSITORY, maxBuffer: 16 * 1024 * 1024 },
      );
    await timed('build stage', () => build(['--target', 'build'], buildStage));
    await timed('image', () => build([], image));
    await timed('example images', () => run('bash', ['scripts/example-images.sh', namespace], { cwd: REPOSITORY }));
    await mkdir(join(root, 'manifests'));
    manifest = join(root, 'manifests', 'hello.yaml');
    await copyFile(join(REPOSITORY, 'manifests', 'hello.yaml'), manifest);
    // The secrets directory: on a tmpfs, at the same path on both sides (the README's
    // /run/berth, which is no tmpfs on this machine: /dev/shm is).
    secretsDir = await mkdtemp('/dev/shm/berth-it-secrets-');
    [listenPort, proxyPort] = [await freePort(), await freePort()];
  });

  after(async () => {
    console.log(`      timings: ${timings.join(', ')}`);
    await dockerCli(['rm', '-f', '-v', container]).catch(() => undefined);
    await dockerCli(['volume', 'rm', volume]).catch(() => undefined);
    await cleanupNamespace(namespace);
    await dockerCli(['rmi', image]).catch(() => undefined);
    await dockerCli(['rmi', buildStage]).catch(() => undefined);
    if (madeBase) await dockerCli(['rmi', base]).catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
    if (secretsDir) await rm(secretsDir, { recursive: true, force: true });
  });

  it('is small: the image adds little to its base', async () => {
    const size = Number((await dockerCli(['image', 'inspect', '--format', '{{.Size}}', image])).trim());
    const baseSize = Number((await dockerCli(['image', 'inspect', '--format', '{{.Size}}', base])).trim());
    timings.push(`image ${(size / 1e6).toFixed(0)} MB (base ${(baseSize / 1e6).toFixed(0)} MB)`);
    assert.ok(size - baseSize < 60e6, `berth's layers: ${((size - baseSize) / 1e6).toFixed(0)} MB`);
    const listing = await dockerCli([
      'run',
      '--rm',
      '--entrypoint',
      'sh',
      image,
      '-c',
      'ls /opt/berth; command -v npm || echo no npm',
    ]);
    assert.match(listing, /^dist$/m);
    assert.match(listing, /^no npm$/m);
    assert.doesNotMatch(listing, /^(src|test|bench)$/m);
  });

  it('runs as the README says, becomes healthy, and deploys the example app through the nginx inside', async () => {
    await timed('start to healthy', async () => {
      await dockerCli([
        'run',
        '-d',
        '--name',
        container,
        '--network',
        'host',
        '--restart',
        'unless-stopped',
        '-v',
        '/var/run/docker.sock:/var/run/docker.sock',
        '-v',
        `${join(root, 'manifests')}:/manifests:ro`,
        '-v',
        `${volume}:/var/lib/berth`,
        '-v',
        `${secretsDir}:${secretsDir}`,
        image,
        'run',
        '--manifests',
        '/manifests',
        '--proxy',
        'nginx',
        '--listen',
        `127.0.0.1:${listenPort}`,
        '--proxy-listen',
        `127.0.0.1:${proxyPort}`,
        '--namespace',
        namespace,
        '--domain',
        `${namespace}.test`,
        '--secrets-dir',
        secretsDir,
      ]);
      await healthy('the container to become healthy');
    });
    await timed('first deploy', () => serves('hello from v1'));
    const own = await inspect(container);
    assert.equal(own.Config.Labels?.['berth.managed'], undefined, "berth's own container is no managed app");
    assert.equal((await apps(namespace)).size, 1);
  });

  it('redeploys on an edit of the tag with 0 failed requests through the nginx inside', async () => {
    const load = startLoad(
      () => getWithHost(proxyPort, host, '/', 5_000),
      (body) => /hello from v[12]/.test(body),
    );
    try {
      const text = await readFile(manifest, 'utf8');
      await writeFile(`${manifest}.tmp~`, text.replace('tag: v1', 'tag: v2'));
      await rename(`${manifest}.tmp~`, manifest);
      await timed('redeploy', async () => {
        await serves('hello from v2');
        // The old revision retired (retireAfter: 10): one container left, the new one.
        await eventually(async () => (await apps(namespace)).size === 1, 60_000, 'v1 to be retired', 500);
      });
    } finally {
      const result = await load.stop();
      assert.deepEqual(result.failures, [], `${result.failures.length} of ${result.requests} requests failed`);
      assert.ok(result.requests > 50, `${result.requests} requests`);
    }
    assert.ok(!(await getWithHost(proxyPort, host)).body.includes('v1'));
  });

  it('stops cleanly on SIGTERM and, started again, restarts no app; its own container untouched', async () => {
    const before = await apps(namespace);
    const own = await inspect(container);
    const stopped = Date.now();
    await dockerCli(['stop', '-t', '30', container]);
    const stopSeconds = (Date.now() - stopped) / 1000;
    timings.push(`docker stop ${stopSeconds.toFixed(1)} s`);
    assert.ok(stopSeconds < 10, `docker stop took ${stopSeconds} s`);
    assert.equal((await inspect(container)).State.ExitCode, 0);
    assert.deepEqual(await apps(namespace), before, 'the apps run on while berth is stopped');

    await dockerCli(['start', container]);
    await timed('restart to healthy', () => healthy('the container to be healthy again'));
    await eventually(
      async () => (await getWithHost(listenPort, `127.0.0.1:${listenPort}`, '/readyz')).status === 200,
      60_000,
      '/readyz',
    );
    await serves('hello from v2');
    assert.deepEqual(await apps(namespace), before, 'same containers, same StartedAt');
    const again = await inspect(container);
    assert.equal(again.Id, own.Id);
    assert.equal(again.RestartCount, 0, 'never restarted behind our back');
  });

  it('ends when the nginx inside dies, and its restart policy brings both back', async () => {
    const before = await apps(namespace);
    const restarts = (await inspect(container)).RestartCount;
    await dockerCli(['exec', container, 'sh', '-c', 'kill -KILL "$(cat /run/nginx.pid)"']);
    await timed('nginx killed to serving again', async () => {
      await eventually(async () => (await inspect(container)).RestartCount > restarts, 30_000, 'a restart', 500);
      await serves('hello from v2');
    });
    await healthy('the container to be healthy after its restart');
    assert.deepEqual(await apps(namespace), before, 'no app restarted');
  });
});
