import { strict as assert } from 'node:assert';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authFailure, registryCredentials, registryOf } from '../../../../src/runtime/docker/registry-auth.js';

const HUB = 'https://index.docker.io/v1/';

describe('registryOf', function () {
  const cases: Array<[string, string]> = [
    ['nginx:1.25', HUB],
    ['dokku/web:v1', HUB],
    ['docker.io/dokku/web:v1', HUB],
    ['ghcr.io/x/y:v1', 'ghcr.io'],
    ['127.0.0.1:5000/team/web:v1', '127.0.0.1:5000'],
    ['localhost/web:v1', 'localhost'],
  ];
  for (const [reference, registry] of cases) {
    it(`${reference} -> ${registry}`, function () {
      assert.equal(registryOf(reference), registry);
    });
  }
});

describe('registryCredentials', function () {
  let dir: string;
  const env = (): Record<string, string> => ({ DOCKER_CONFIG: dir, PATH: `${dir}:${process.env.PATH ?? ''}` });

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-docker-config-'));
  });

  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  async function config(content: unknown): Promise<void> {
    await writeFile(join(dir, 'config.json'), typeof content === 'string' ? content : JSON.stringify(content));
  }

  async function helper(name: string, script: string): Promise<void> {
    const path = join(dir, `docker-credential-${name}`);
    await writeFile(path, `#!/bin/sh\n${script}\n`);
    await chmod(path, 0o755);
  }

  it('is anonymous without a config file or without an entry', async function () {
    assert.equal(await registryCredentials('ghcr.io/x/y:v1', env()), undefined);
    await config({ auths: { 'quay.io': { auth: Buffer.from('a:b').toString('base64') } } });
    assert.equal(await registryCredentials('ghcr.io/x/y:v1', env()), undefined);
  });

  it('decodes auths entries, matching keys with scheme or path', async function () {
    await config({
      auths: {
        'https://ghcr.io': { auth: Buffer.from('octo:pa:ss').toString('base64') },
        [HUB]: { auth: Buffer.from('hubuser:hubpass').toString('base64') },
        '127.0.0.1:5000': { identitytoken: 'tok' },
      },
    });
    assert.deepEqual(await registryCredentials('ghcr.io/x/y:v1', env()), {
      username: 'octo',
      password: 'pa:ss',
      serveraddress: 'ghcr.io',
    });
    assert.deepEqual(await registryCredentials('dokku/web:v1', env()), {
      username: 'hubuser',
      password: 'hubpass',
      serveraddress: HUB,
    });
    assert.deepEqual(await registryCredentials('127.0.0.1:5000/web:v1', env()), {
      identitytoken: 'tok',
      serveraddress: '127.0.0.1:5000',
    });
  });

  it('asks credHelpers before credsStore, passing the registry on stdin', async function () {
    await helper('special', 'read server; printf \'{"Username":"u-%s","Secret":"s"}\' "$server"');
    await helper('store', 'read server; printf \'{"Username":"<token>","Secret":"identity"}\'');
    await config({ credHelpers: { 'ghcr.io': 'special' }, credsStore: 'store', auths: { 'ghcr.io': {} } });
    assert.deepEqual(await registryCredentials('ghcr.io/x/y:v1', env()), {
      username: 'u-ghcr.io',
      password: 's',
      serveraddress: 'ghcr.io',
    });
    assert.deepEqual(await registryCredentials('quay.io/x/y:v1', env()), {
      identitytoken: 'identity',
      serveraddress: 'quay.io',
    });
  });

  it('is anonymous when the helper knows no credentials, and fails when the helper fails otherwise', async function () {
    await helper('empty', 'echo "credentials not found in native keychain"; exit 1');
    await helper('broken', 'echo "keychain locked" >&2; exit 3');
    await config({ credHelpers: { 'ghcr.io': 'empty', 'quay.io': 'broken', 'gcr.io': 'absent' } });
    assert.equal(await registryCredentials('ghcr.io/x/y:v1', env()), undefined);
    await assert.rejects(
      registryCredentials('quay.io/x/y:v1', env()),
      /docker-credential-broken get failed for quay\.io: keychain locked/,
    );
    await assert.rejects(registryCredentials('gcr.io/x/y:v1', env()), /cannot run docker-credential-absent/);
  });

  it('names a config file that is not JSON', async function () {
    await config('{ nope');
    await assert.rejects(registryCredentials('ghcr.io/x/y:v1', env()), /config\.json is not valid JSON/);
  });
});

describe("a registry refusing a pull, in berth's words (authFailure)", () => {
  const env = { DOCKER_CONFIG: '/etc/berth/docker' };
  it('says whether credentials were sent, names the registry, the repository and the config file, never a credential', () => {
    assert.equal(
      authFailure(
        'Head "http://127.0.0.1:5001/v2/team/web/manifests/v1": no basic auth credentials',
        '127.0.0.1:5001/team/web:v1',
        false,
        env,
      ),
      '127.0.0.1:5001 asks for credentials for team/web, and /etc/berth/docker/config.json has none for 127.0.0.1:5001 (docker login 127.0.0.1:5001, or a credential helper)',
    );
    assert.equal(
      authFailure(
        'unauthorized: authentication required',
        `127.0.0.1:5001/team/web@sha256:${'a'.repeat(64)}`,
        true,
        env,
      ),
      '127.0.0.1:5001 refused the credentials for team/web: unauthorized (fix them in /etc/berth/docker/config.json: berth reads it again on its next retry)',
    );
    assert.equal(
      authFailure('manifest unknown', '127.0.0.1:5001/team/web:v1', true, env),
      undefined,
      'other failures keep their own words',
    );
  });
});
