/**
 * Attacks on image automation, each tried for real against berth's own code: a manifest author's
 * large pattern against a registry's longest tags, a registry that answers every page just in time,
 * a webhook caller's burst and bodies, a person's edit racing berth's write, tags written in YAML
 * an in-place edit cannot follow. Servers run on 127.0.0.1; files in a scratch directory.
 */
import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewEvent } from '../../../src/events/types.js';
import { StatusServer } from '../../../src/http/server.js';
import { ImageAutomation, MIN_WAKE_GAP_MS, RATE_LIMITED_WAIT_MS } from '../../../src/images/automation.js';
import { decide, MAX_CANDIDATES, MAX_MATCH_WORK } from '../../../src/images/policy.js';
import { listTags, RegistryError } from '../../../src/images/registry-client.js';
import { TokenCache } from '../../../src/images/token-cache.js';
import { writeTagToFile } from '../../../src/images/write-back/directory.js';
import { WriteBackError } from '../../../src/images/write-back/errors.js';
import { setSpecImage } from '../../../src/manifest/edit.js';
import { ManifestEditError } from '../../../src/manifest/errors.js';
import { compileTagPattern } from '../../../src/manifest/image-policy.js';
import type { App, ImagePolicy } from '../../../src/manifest/types.js';
import { createPrometheusMetrics } from '../../../src/metrics/prometheus.js';
import { StateStore } from '../../../src/state/store.js';
import { systemClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
import { testApp } from '../../support/apps.js';
import { FakeClock } from '../../support/fake-clock.js';
import { swapDirectories } from '../../support/directory-swapper.js';

const NOW = Date.UTC(2026, 11, 6, 23, 0, 0);

const manifestOf = (tag: string) =>
  ['metadata:', '  name: web', 'spec:', '  image: r.test/team/web', `  tag: ${tag}   # berth moves this`, ''].join(
    '\n',
  );

describe('hostile inputs to image automation', () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'berth-images-hostile-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  describe('a manifest author: a pattern that is linear but large, against the longest tags', () => {
    it('spends a bounded amount of matching on one look, and carries on from there on the next', function () {
      this.timeout(60_000);
      // 880 instructions, each live on every character of a 128-character tag of a and b: matching
      // 10,000 such tags takes RE2 some 10^9 steps (seconds of CPU, berth's event loop stopped).
      const pattern = 'z(?P<key>(?:[ab]?){440})';
      const compiled = compileTagPattern(pattern);
      assert.ok(compiled.ok, 'validation accepts the pattern');
      const perTag = compiled.regex.programSize() * 129;
      const policy: ImagePolicy = { pattern, order: 'alphabetical', interval: 300, minAge: 0 };
      // Keys rising alphabetically with i: `z`, a's, then i in binary (a = 0, b = 1): 128 characters.
      const tagOf = (i: number) =>
        `z${i.toString(2).padStart(14, '0').replaceAll('0', 'a').replaceAll('1', 'b').padStart(127, 'a')}`;
      const tags = Array.from({ length: MAX_CANDIDATES }, (_, i) => tagOf(i + 1));
      assert.ok(perTag * tags.length > 4 * MAX_MATCH_WORK, 'the whole list is well over the bound');
      const lookAt = () =>
        decide({ policy, currentTag: tagOf(0), candidates: tags, firstSeen: {}, now: NOW, refused: new Set() });

      const first = lookAt();
      const firstTag = first.kind === 'adopt' ? first.tag : '';
      assert.equal(firstTag, tagOf(Math.floor(MAX_MATCH_WORK / perTag)), 'as many tags as the bound allows');
      const second = lookAt();
      const secondTag = second.kind === 'adopt' ? second.tag : '';
      assert.ok(secondTag > firstTag, 'the next look remembers what it matched and goes further');
    });
  });

  describe('a registry', () => {
    const servers: Server[] = [];
    afterEach(async () => {
      for (const server of servers.splice(0)) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });
    const serve = async (handler: Parameters<typeof createServer>[1]) => {
      const server = createServer(handler);
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const deps = (extra: { timeoutMs?: number; deadlineMs?: number }) => ({
      env: { DOCKER_CONFIG: join(scratch, 'no-config'), PATH: process.env.PATH },
      clock: systemClock,
      tokens: new TokenCache(),
      ...extra,
    });
    const failure = async (promise: Promise<unknown>): Promise<RegistryError> =>
      promise.then(
        () => assert.fail('listTags resolved'),
        (error: unknown) => {
          assert.ok(error instanceof RegistryError, `a RegistryError, not ${String(error)}`);
          return error;
        },
      );

    it('cannot hold a look by answering each of 100 pages just within the timeout', async function () {
      this.timeout(30_000);
      let pages = 0;
      const address = await serve((req, res) => {
        pages += 1;
        const next = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('p') ?? 0) + 1;
        setTimeout(() => {
          res.writeHead(200, {
            'content-type': 'application/json',
            link: `</v2/team/web/tags/list?p=${next}>; rel="next"`,
          });
          res.end(JSON.stringify({ tags: [`1.0.${next}`] }));
        }, 150);
      });
      const started = Date.now();
      const error = await failure(
        listTags(`${address}/team/web`, deps({ timeoutMs: 5_000, deadlineMs: 1_000 }), new AbortController().signal),
      );
      assert.equal(error.kind, 'unreachable');
      assert.equal(error.message, `${address} did not list the tags of team/web within 1s`);
      assert.ok(pages < 20, `${pages} pages asked for`);
      assert.ok(Date.now() - started < 10_000, 'well within a generous bound');
    });

    it('times out a body that keeps dripping (the timeout covers the body, not only the headers)', async () => {
      const address = await serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"tags":["1.0.0"');
        const drip = setInterval(() => res.write(' '), 50);
        res.on('close', () => clearInterval(drip));
      });
      const started = Date.now();
      const error = await failure(
        listTags(`${address}/team/web`, deps({ timeoutMs: 400 }), new AbortController().signal),
      );
      assert.equal(error.message, `${address} is unreachable for team/web: no answer within 400ms`);
      assert.ok(Date.now() - started < 5_000, 'well within a generous bound');
    });
  });

  describe('a webhook caller, through the automation', () => {
    let dir: string;
    let state: StateStore;
    let clock: FakeClock;
    let apps: App[];
    let answer: string[] | Error;
    let looks: number;
    let written: string[];
    let automation: ImageAutomation;

    beforeEach(async () => {
      dir = await mkdtemp(join(scratch, 'state-'));
      state = await StateStore.open(dir, 'test');
      clock = new FakeClock(NOW);
      apps = [
        testApp('web', {
          image: '127.0.0.1:5000/team/web',
          tag: '1.0.0',
          imagePolicy: { semver: '^1', interval: 3600, minAge: 0 } as ImagePolicy,
        }),
      ];
      answer = ['1.0.0'];
      looks = 0;
      written = [];
      const events: NewEvent[] = [];
      automation = new ImageAutomation({
        clock,
        logger: silentLogger(),
        state,
        events: { emit: (event) => void events.push(event) },
        apps: () => apps,
        tags: {
          registry: async () => {
            looks += 1;
            if (answer instanceof Error) throw answer;
            return answer;
          },
          engine: async () => [],
          digest: async () => undefined,
        },
        writer: {
          write: async (move) => {
            written.push(move.to);
            return { kind: 'file', file: move.app.source.file };
          },
        },
      });
      state.update('web', { phase: 'Running', message: '' }, clock.now());
      automation.start();
      await clock.advance(0);
      assert.equal(looks, 1);
    });
    afterEach(async () => {
      await automation.stop();
      await state.flush();
      state.close();
    });

    it('a burst of notifications makes one look a second at most, and the pushed tag is still written', async () => {
      answer = ['1.0.0', '1.0.1'];
      for (let i = 0; i < 100; i++) {
        assert.deepEqual(automation.wake('team/web'), ['127.0.0.1:5000/team/web']);
        await clock.advance(MIN_WAKE_GAP_MS / 100);
      }
      await clock.advance(0);
      assert.ok(looks <= 2, `${looks} looks for 100 notifications in a second`);
      assert.deepEqual(written, ['1.0.1']);
    });

    it('a registry that answered 429 without Retry-After is left alone for a while, whatever wakes it', async () => {
      answer = new RegistryError(
        'rate-limited',
        '127.0.0.1:5000',
        'team/web',
        '127.0.0.1:5000 answered 429 for team/web: too many requests, no Retry-After',
      );
      await clock.advance(MIN_WAKE_GAP_MS);
      automation.wake('team/web');
      await clock.advance(MIN_WAKE_GAP_MS);
      assert.equal(looks, 2, 'the look that was answered 429');
      for (let i = 0; i < 10; i++) {
        automation.wake('team/web');
        await clock.advance(MIN_WAKE_GAP_MS);
      }
      assert.equal(looks, 2, 'no look within the wait, however many notifications');
      answer = ['1.0.0', '1.0.2'];
      await clock.advance(RATE_LIMITED_WAIT_MS);
      assert.equal(looks, 3);
      assert.deepEqual(written, ['1.0.2']);
    });
  });

  describe('a webhook caller, over HTTP (POST /hooks/registry)', () => {
    let server: StatusServer;
    let port: number;
    let pushed: string[];
    const secret = 'hook-s3cret-9f2';

    beforeEach(async () => {
      pushed = [];
      server = new StatusServer({
        namespace: 'dokku',
        readiness: () => ({ ready: true, reasons: [], engineReachable: true }),
        snapshot: async () => ({ apps: [] }),
        onChange: () => () => undefined,
        metrics: createPrometheusMetrics({
          phases: () => [],
          queueDepth: () => 0,
          manifestErrors: () => 0,
          stateWritable: () => true,
        }).registry,
        clock: systemClock,
        logger: silentLogger(),
        registryWebhook: { secret: Buffer.from(secret), onPush: (repository) => (pushed.push(repository), []) },
      });
      port = (await server.listen({ host: '127.0.0.1', port: 0 })).port;
    });
    afterEach(async () => server.close());

    const post = (body: string, authorization?: string) =>
      fetch(`http://127.0.0.1:${port}/hooks/registry`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body,
      }).then(async (response) => ({ status: response.status, body: await response.text() }));
    const envelope = (count: number) =>
      JSON.stringify({
        events: Array.from({ length: count }, (_, i) => ({
          action: 'push',
          target: { repository: `team/app${i}`, tag: '1.0.0' },
        })),
      });

    it('refuses a caller without the secret before reading its body, which it never has to send', async () => {
      const answered = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => {
          // Headers only: a body of a MiB announced, none sent.
          socket.write(
            `POST /hooks/registry HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${1024 * 1024}\r\nAuthorization: Bearer wrong\r\n\r\n`,
          );
        });
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('\r\n\r\n')) {
            socket.destroy();
            resolve(text);
          }
        });
        socket.on('error', reject);
        setTimeout(() => {
          socket.destroy();
          resolve(text);
        }, 3_000);
      });
      assert.match(answered, /^HTTP\/1\.1 401 /);
      assert.deepEqual(pushed, []);
    });

    it('wakes nothing without the right secret; bounds what a caller with it can send', async () => {
      assert.equal((await post(envelope(1))).status, 401);
      assert.equal((await post(envelope(1), 'Bearer not-it')).status, 401);
      assert.equal((await post(envelope(1), `Basic ${secret}`)).status, 401);
      assert.deepEqual(pushed, []);
      assert.equal((await post(`{"events":[${'0,'.repeat(600_000)}0]}`, `Bearer ${secret}`)).status, 413);
      const many = await post(envelope(5_000), `Bearer ${secret}`);
      assert.equal(many.status, 202);
      assert.equal(pushed.length, 1_000, 'at most 1,000 events of one notification');
    });
  });

  describe('a person editing the manifest while berth writes it (directory source)', () => {
    const manifest = manifestOf;

    it('writes over the tag it judged, never over one a person set since (back or forward)', async () => {
      const dir = await mkdtemp(join(scratch, 'manifests-'));
      const file = join(dir, 'web.yaml');
      for (const personal of ['1.0.0', '1.2.0']) {
        await writeFile(file, manifest(personal));
        await assert.rejects(
          writeTagToFile(file, 'web', { tag: '1.1.1' }, { root: dir, from: '1.1.0' }),
          (error: unknown) =>
            error instanceof WriteBackError &&
            error.kind === 'stale' &&
            error.message ===
              `${file} now says tag "${personal}" for web, not 1.1.0; the move to 1.1.1 was not written`,
        );
        assert.equal(await readFile(file, 'utf8'), manifest(personal), `${personal} stays`);
      }
      await writeFile(file, manifest('1.1.0'));
      assert.equal(await writeTagToFile(file, 'web', { tag: '1.1.1' }, { root: dir, from: '1.1.0' }), 'written');
      assert.equal(await readFile(file, 'utf8'), manifest('1.1.1'));
    });
  });

  describe('a user who may write a directory inside the manifests, racing the write-back', () => {
    it('cannot swap that directory for a link and have berth write outside the manifests', async function () {
      this.timeout(60_000);
      const base = await mkdtemp(join(scratch, 'race-'));
      const root = join(base, 'manifests');
      const victim = join(base, 'victim');
      await mkdir(join(root, 'team', 'apps'), { recursive: true });
      await mkdir(victim);
      await writeFile(join(victim, 'web.yaml'), 'not a manifest: berth must never write here\n');
      await writeFile(join(root, 'team', 'apps', 'web.yaml'), manifestOf('1.1.0'));
      await symlink(victim, join(root, 'team', 'apps.link'));
      // The user's side: swaps team/apps and team/apps.link (a link to the victim directory) as fast as it can.
      const swapper = swapDirectories(join(root, 'team'), 'apps', 'apps.link');
      try {
        const outcomes = new Set<string>();
        const until = Date.now() + 5_000;
        for (let i = 0; i < 3_000 && Date.now() < until; i++) {
          await writeTagToFile(
            join(root, 'team', 'apps', 'web.yaml'),
            'web',
            { tag: i % 2 ? '1.1.1' : '1.1.2' },
            { root },
          )
            .then((result) => outcomes.add(result))
            .catch((error: unknown) => outcomes.add(error instanceof Error ? error.name : String(error)));
          assert.equal(
            await readFile(join(victim, 'web.yaml'), 'utf8'),
            'not a manifest: berth must never write here\n',
            `written through the link on attempt ${i + 1}`,
          );
        }
        assert.deepEqual(await readdir(victim), ['web.yaml'], 'not even a temporary file there');
        assert.ok(outcomes.has('written'), `the manifest is still written between swaps: ${[...outcomes]}`);
      } finally {
        await swapper.stop();
      }
    });
  });

  describe('a manifest author: a tag written so an in-place edit would change more', () => {
    it('refuses an anchored tag another field aliases, and a tag that comes from a merge key', () => {
      const head = 'metadata:\n  name: web\n';
      const cases: [string, RegExp][] = [
        [
          `${head}spec:\n  image: r.test/team/web\n  tag: &t 1.1.0\n  env:\n    VERSION: *t\n`,
          /m\.yaml:\d+:\d+: setting spec\.tag in place would change more than the tag/,
        ],
        [
          `base: &b\n  tag: 1.1.0\n${head}spec:\n  <<: *b\n  image: r.test/team/web\n`,
          /m\.yaml:\d+:\d+: spec\.tag is not written as a plain or quoted string/,
        ],
      ];
      for (const [text, message] of cases)
        assert.throws(
          () => setSpecImage(text, 'm.yaml', 'web', { tag: '1.1.1' }),
          (error: unknown) => error instanceof ManifestEditError && message.test(error.message),
          text,
        );
    });
  });
});
