/**
 * A registry that demands a password (Debian's docker-registry with a bcrypt htpasswd) on
 * loopback: berth pulls with the credentials of Docker's config.json (`auths`, as `docker login`
 * writes them, and a credential helper on PATH), says in its own words when they are missing or
 * refused, picks up a fixed config.json on its next retry, and never shows a credential.
 */
import { strict as assert } from 'node:assert';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, runCli } from '../../support/berth-process.js';
import { buildTestImage, dockerCli } from '../../support/docker.js';
import { PrivateRegistry } from '../../support/registry.js';
import { Scenario } from '../../support/scenario.js';

describe('a private registry that demands credentials (real docker-registry with htpasswd)', function () {
  this.timeout(120_000);
  const USER = 'deployer';
  const PASSWORD = 'Pw-registry-73q';
  let world: Scenario;
  let registry: PrivateRegistry;
  let scratch: string;
  let repository: string;

  /** A DOCKER_CONFIG directory whose config.json is `config`. */
  const configDir = async (name: string, config: unknown) => {
    const dir = join(scratch, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
    return dir;
  };
  const auths = (password: string) => ({
    auths: { [registry.address]: { auth: Buffer.from(`${USER}:${password}`).toString('base64') } },
  });
  const status = async (app: string) => (await world.status()).find((a) => a.app === app);

  before(async () => {
    world = await Scenario.create();
    registry = await PrivateRegistry.start({ user: USER, password: PASSWORD });
    scratch = await mkdtemp(join(tmpdir(), 'berth-private-registry-'));
    repository = `${registry.address}/${world.namespace}/web`;
    const pusher = await configDir('pusher', auths(PASSWORD));
    for (const tag of ['v1', 'v2']) {
      const id = await buildTestImage(`${world.namespace}/web`, tag, { body: `private ${tag}` });
      await dockerCli(['tag', id, `${repository}:${tag}`]);
      await dockerCli(['--config', pusher, 'push', `${repository}:${tag}`]);
      await dockerCli(['rmi', `${repository}:${tag}`]);
    }
  });
  afterEach(async () => {
    await world.killProcesses();
  });
  after(async () => {
    await world.cleanup();
    await registry.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it("without credentials, then with wrong ones: Pending in berth's words, nothing touched; a fixed config.json is picked up on the next retry", async () => {
    const dir = await configDir('changing', { auths: {} });
    await world.writeManifest('web', { image: repository, tag: 'v1', checks: { wait: 0 } });
    const berth = world.start([], { DOCKER_CONFIG: dir });
    const none = await eventually(
      async () => {
        const s = await status('web');
        return s?.phase === 'Pending' && /asks for credentials/.test(s.message) ? s : undefined;
      },
      30_000,
      'Pending without credentials',
    );
    assert.match(
      none.message,
      new RegExp(
        `^${registry.address.replace(/\./g, '\\.')} asks for credentials for ${world.namespace}/web, and ${dir.replace(/\./g, '\\.')}/config\\.json has none for ${registry.address.replace(/\./g, '\\.')}`,
      ),
    );
    await writeFile(join(dir, 'config.json'), JSON.stringify(auths('not-the-password')));
    const refused = await eventually(
      async () => {
        const s = await status('web');
        return s?.phase === 'Pending' && /refused/.test(s.message) ? s : undefined;
      },
      30_000,
      'Pending with wrong credentials',
    );
    assert.match(
      refused.message,
      new RegExp(
        `^${registry.address.replace(/\./g, '\\.')} refused the credentials for ${world.namespace}/web: unauthorized`,
      ),
    );
    assert.deepEqual(await world.containers('web'), []);
    await writeFile(join(dir, 'config.json'), JSON.stringify(auths(PASSWORD)));
    await eventually(
      async () => (await status('web'))?.phase === 'Running',
      60_000,
      'Running once config.json is fixed, without a restart',
    );
    assert.equal(berth.logs.filter((l) => l.step === 'ready').length, 1, 'the same berth');

    const texts = [
      berth.logs.map((l) => JSON.stringify(l)).join('\n'),
      berth.stderr,
      JSON.stringify(await world.status()),
    ];
    for (const file of await readdir(world.stateDir, { recursive: true })) {
      const path = join(world.stateDir, String(file));
      if ((await stat(path)).isFile()) texts.push(await readFile(path, 'latin1'));
    }
    for (const secret of [PASSWORD, 'not-the-password', Buffer.from(`${USER}:${PASSWORD}`).toString('base64')]) {
      assert.ok(
        texts.every((t) => !t.includes(secret)),
        'no credential in logs, state or status',
      );
    }

    // plan and tags:deploy look digests up with the same credentials.
    const plan = await runCli(['plan', '--manifests', world.manifests, ...world.flags()], { DOCKER_CONFIG: dir });
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /^web: up to date: Running/m);
    const deploy = await runCli(
      ['tags:deploy', 'web', 'v2', '--manifests', world.manifests, '--wait', ...world.flags()],
      { DOCKER_CONFIG: dir },
    );
    assert.equal(deploy.code, 0, deploy.stdout + deploy.stderr);
    assert.equal((await status('web'))?.running.tag, 'v2');
    assert.equal(await berth.stop(), 0);
  });

  it('asks a credential helper on PATH (credHelpers), speaking the docker-credential protocol', async () => {
    const bin = join(scratch, 'bin');
    await mkdir(bin, { recursive: true });
    const helper = join(bin, 'docker-credential-berthtest');
    await writeFile(
      helper,
      `#!/bin/sh\n[ "$1" = get ] || exit 1\nread server\n[ "$server" = "${registry.address}" ] || { echo "credentials not found in native keychain"; exit 1; }\nprintf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}' "$server"\n`,
    );
    await chmod(helper, 0o755);
    const dir = await configDir('helper', { credHelpers: { [registry.address]: 'berthtest' } });
    await world.writeManifest('api', { image: repository, tag: 'v1', checks: { wait: 0 } });
    const berth = world.start([], { DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` });
    await eventually(
      async () => (await status('api'))?.phase === 'Running',
      60_000,
      "api Running with the helper's credentials",
    );
    assert.ok(!berth.logs.some((l) => JSON.stringify(l).includes(PASSWORD)));
    assert.equal(await berth.stop(), 0);
  });
});
