/**
 * listTags against the real registry (Debian's docker-registry on loopback), with and without
 * htpasswd, and through the bearer-token front of test/support in front of it: the tags `docker
 * push` put there, credentials from Docker's config.json as pulls find them, a wrong password
 * refused in words that quote no credential, a repository nobody pushed, a registry down.
 */
import { strict as assert } from 'node:assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listTags, RegistryError, type RegistryClientDeps } from '../../../src/images/registry-client.js';
import { carriesSecret, pushedImages } from '../../../src/images/registry-webhook.js';
import { TokenCache } from '../../../src/images/token-cache.js';
import { systemClock } from '../../../src/util/clock.js';
import { eventually } from '../../support/berth-process.js';
import { buildTestImage, cleanupNamespace, dockerCli, uniqueNamespace } from '../../support/docker.js';
import { PrivateRegistry, pushTo } from '../../support/registry.js';
import { RegistryTokenServer } from '../../support/registry-token-server.js';

describe('listing tags from the real docker-registry (listTags)', function () {
  this.timeout(120_000);
  const USER = 'tagreader';
  const PASSWORD = 'Pw-tags-4k9q';
  const TAGS = ['1.0.0', '1.1.0', '2.0.0'];
  let open: PrivateRegistry;
  let guarded: PrivateRegistry;
  let namespace: string;
  let scratch: string;
  let image: string;

  const configDir = async (name: string, registry: string, password: string | undefined) => {
    const dir = join(scratch, name);
    await mkdir(dir, { recursive: true });
    const auths =
      password === undefined ? {} : { [registry]: { auth: Buffer.from(`${USER}:${password}`).toString('base64') } };
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths }));
    return dir;
  };
  const deps = (dockerConfig: string): RegistryClientDeps => ({
    env: { DOCKER_CONFIG: dockerConfig, PATH: process.env.PATH },
    clock: systemClock,
    tokens: new TokenCache(),
  });
  const signal = () => new AbortController().signal;
  const failure = async (promise: Promise<unknown>): Promise<RegistryError> => {
    try {
      await promise;
    } catch (error) {
      assert.ok(error instanceof RegistryError, `a RegistryError, not ${String(error)}`);
      return error;
    }
    assert.fail('listTags resolved');
  };

  before(async () => {
    namespace = uniqueNamespace('rt');
    scratch = await mkdtemp(join(tmpdir(), 'berth-registry-tags-'));
    [open, guarded] = await Promise.all([
      PrivateRegistry.start(),
      PrivateRegistry.start({ user: USER, password: PASSWORD }),
    ]);
    image = await buildTestImage(`${namespace}/web`, 'source');
    for (const tag of TAGS) await pushTo(open.address, image, `${namespace}/web`, tag);
    const pusher = await configDir('pusher', guarded.address, PASSWORD);
    for (const tag of TAGS) {
      const ref = `${guarded.address}/${namespace}/web:${tag}`;
      await dockerCli(['tag', image, ref]);
      await dockerCli(['--config', pusher, 'push', ref]);
      await dockerCli(['rmi', ref]);
    }
  });
  after(async () => {
    await cleanupNamespace(namespace);
    await Promise.all([open?.stop(), guarded?.stop()]);
    await rm(scratch, { recursive: true, force: true });
  });

  it('lists the pushed tags of a registry without htpasswd, and says not-found for a repository nobody pushed', async () => {
    const none = await configDir('none', open.address, undefined);
    const tags = await listTags(`${open.address}/${namespace}/web`, deps(none), signal());
    assert.deepEqual([...tags].sort(), TAGS);
    const missing = await failure(listTags(`${open.address}/${namespace}/nothing`, deps(none), signal()));
    assert.equal(missing.kind, 'not-found');
    assert.equal(missing.message, `${open.address} answered 404 for ${namespace}/nothing: no such repository`);
  });

  it("lists them from a registry with htpasswd with config.json's credentials; a wrong password, or none, is refused in words that quote no credential", async () => {
    const right = await configDir('right', guarded.address, PASSWORD);
    assert.deepEqual([...(await listTags(`${guarded.address}/${namespace}/web`, deps(right), signal()))].sort(), TAGS);

    const wrongDir = await configDir('wrong', guarded.address, 'not-the-Pw-4k9q');
    const wrong = await failure(listTags(`${guarded.address}/${namespace}/web`, deps(wrongDir), signal()));
    assert.equal(wrong.kind, 'refused');
    assert.equal(
      wrong.message,
      `${guarded.address} refused the credentials for ${namespace}/web: unauthorized (fix them in ${join(wrongDir, 'config.json')}: berth reads it again on its next look)`,
    );
    const noneDir = await configDir('nobody', guarded.address, undefined);
    const none = await failure(listTags(`${guarded.address}/${namespace}/web`, deps(noneDir), signal()));
    assert.equal(none.kind, 'refused');
    assert.match(none.message, /asks for credentials for/);
    for (const message of [wrong.message, none.message])
      for (const secret of [
        PASSWORD,
        'not-the-Pw-4k9q',
        Buffer.from(`${USER}:not-the-Pw-4k9q`).toString('base64'),
        Buffer.from(`${USER}:${PASSWORD}`).toString('base64'),
      ])
        assert.ok(!message.includes(secret), message);
  });

  it('lists them through a bearer-token front (the token protocol Docker Hub and most registries speak), one token for two looks', async () => {
    const front = await RegistryTokenServer.start({ user: USER, password: PASSWORD, upstream: open.address });
    try {
      const config = await configDir('front', front.address, PASSWORD);
      const cache = new TokenCache();
      const look = () => listTags(`${front.address}/${namespace}/web`, { ...deps(config), tokens: cache }, signal());
      assert.deepEqual([...(await look())].sort(), TAGS);
      assert.deepEqual([...(await look())].sort(), TAGS);
      assert.deepEqual(front.tokenRequests, [
        { scope: `repository:${namespace}/web:pull`, service: 'berth-test', authorized: true },
      ]);
    } finally {
      await front.stop();
    }
  });

  it("reads the registry's own push notification (its notifications endpoint) as the push of that tag, with the shared secret", async () => {
    const secret = 'hook-Secret-31z';
    const received: { authorization: string | undefined; body: string }[] = [];
    const listener = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ authorization: req.headers.authorization, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/hooks/registry`;
    const notifying = await PrivateRegistry.start(undefined, { notify: { url, authorization: `Bearer ${secret}` } });
    try {
      const digest = await pushTo(notifying.address, image, `${namespace}/web`, '1.1.1');
      const pushes = await eventually(
        async () => {
          const images = received.flatMap((r) => pushedImages(JSON.parse(r.body) as unknown));
          return images.some((i) => i.tag === '1.1.1') ? images : undefined;
        },
        30_000,
        'the registry notifies the push of 1.1.1',
      );
      assert.deepEqual(
        pushes,
        [{ registry: notifying.address, repository: `${namespace}/web`, tag: '1.1.1', digest }],
        'the layer and config blob pushes skipped: one manifest push, tagged',
      );
      assert.ok(received.length >= 2, 'the blobs were notified too');
      assert.ok(received.every((r) => carriesSecret(r.authorization, Buffer.from(secret))));
      assert.ok(received.every((r) => !carriesSecret(r.authorization, Buffer.from('another-secret'))));
    } finally {
      await notifying.stop();
      listener.closeAllConnections();
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  it('says unreachable when the registry is down', async () => {
    const none = await configDir('down', open.address, undefined);
    await open.pause();
    try {
      const down = await failure(listTags(`${open.address}/${namespace}/web`, deps(none), signal()));
      assert.equal(down.kind, 'unreachable');
      assert.match(
        down.message,
        new RegExp(`^${open.address.replace(/\./g, '\\.')} is unreachable for ${namespace}/web: `),
      );
    } finally {
      await open.resume();
    }
  });
});
