/**
 * The npm package as a user gets it: `npm pack`, `npm install -g` of the tarball into a fresh
 * prefix, then the installed `berth` run from another directory against the real engine.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { buildTestImage, httpGet } from '../../support/docker.js';
import { Scenario } from '../../support/scenario.js';

const run = promisify(execFile);
const REPOSITORY = resolve('.');
const VERSION = (JSON.parse(readFileSync(join(REPOSITORY, 'package.json'), 'utf8')) as { version: string }).version;

/** A command's exit code and output, whatever the code. */
async function attempt(
  file: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { ...options, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
  }
}

describe('the npm package (npm pack, npm install -g, berth from any directory)', function () {
  this.timeout(180_000);
  let root: string;
  let world: Scenario;
  let tarball: string;
  let berth: string;
  let elsewhere: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-it-npm-'));
    world = await Scenario.create();
    // dist/ as built for the suite: --ignore-scripts skips prepack's rebuild, which would replace
    // dist/ under the other test files running beside this one.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', root], {
      cwd: REPOSITORY,
    });
    tarball = join(root, packed.stdout.trim().split('\n').pop() ?? '');
    const prefix = join(root, 'prefix');
    // Production dependencies from the npm cache when it has them (npm ci filled it), else the registry.
    await run(
      'npm',
      ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--silent', tarball],
      { cwd: root },
    );
    berth = join(prefix, 'bin', 'berth');
    elsewhere = join(root, 'elsewhere');
    await mkdir(elsewhere);
    // The code cache in a cache directory of the test's own (the user's, by default), not the package's.
    env = { ...process.env, XDG_CACHE_HOME: join(root, 'cache'), BERTH_COMPILE_CACHE: '' };
  });
  after(async () => {
    await world?.cleanup();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('packs dist/, schemas/ and packaging/, and nothing of the tests, benches, sources or source maps', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n');
    assert.ok(files.includes('package/dist/cli.js'), stdout);
    assert.ok(files.includes('package/schemas/app.schema.json'), stdout);
    assert.ok(files.includes('package/packaging/berth.service'), stdout);
    assert.ok(files.includes('package/README.md'), stdout);
    const unwanted = files.filter((f) => /^package\/(test|bench|src|scripts|\.build|\.ci)\/|\.map$/.test(f));
    assert.deepEqual(unwanted, []);
  });

  it('installs a berth command that says its version and its usage from another directory', async () => {
    const said = await attempt(berth, ['--version'], { cwd: elsewhere, env });
    assert.equal(said.code, 0, said.stderr);
    assert.equal(said.stdout, `berth ${VERSION}\n`);
    const help = await attempt(berth, ['--help'], { cwd: elsewhere, env });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /berth --version/);
  });

  it('validates, plans and runs a pass over manifests from another directory, its code cache in the user cache directory', async () => {
    await buildTestImage(`${world.namespace}/web`, 'v1', { body: 'installed berth deployed me' });
    await world.writeManifest('web', { tag: 'v1' });
    const validated = await attempt(berth, ['validate', world.manifests], { cwd: elsewhere, env });
    assert.equal(validated.code, 0, validated.stderr);
    assert.match(validated.stderr, /1 file\(s\), 1 app\(s\): valid/);

    const flags = ['--manifests', world.manifests, ...world.flags()];
    const planned = await attempt(berth, ['plan', ...flags], { cwd: elsewhere, env });
    assert.equal(planned.code, 0, planned.stderr);
    assert.match(planned.stdout, /\bweb\b/);
    assert.equal((await world.containers('web')).length, 0, 'plan changes nothing');

    const once = await attempt(berth, ['run', '--once', ...flags], { cwd: elsewhere, env });
    assert.equal(once.code, 0, once.stderr + once.stdout.slice(-2000));
    const [running, ...more] = await world.running('web');
    assert.equal(more.length, 0);
    assert.equal((await httpGet(running!.port!)).body, 'installed berth deployed me');

    const cached = await readdir(join(root, 'cache', 'berth', 'code-cache'));
    assert.ok(
      cached.some((f) => f.startsWith('command-run-')),
      `code cache: ${cached.join(', ')}`,
    );
  });
});
