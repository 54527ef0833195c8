/**
 * listTags against registries played by node:http servers on 127.0.0.1: pagination, the Basic and
 * Bearer challenges (through the token server of test/support), the token cache, 429, hostile
 * answers (another origin, endless bodies, silence, redirects) and credentials kept out of every
 * message.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listTags, RegistryError, type RegistryClientDeps } from '../../../src/images/registry-client.js';
import { TokenCache } from '../../../src/images/token-cache.js';
import { systemClock } from '../../../src/util/clock.js';
import { FakeClock } from '../../support/fake-clock.js';
import { RegistryTokenServer } from '../../support/registry-token-server.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A server on 127.0.0.1 running `handler`, with the requests it saw. */
interface Scripted {
  address: string;
  origin: string;
  requests: { path: string; authorization: string | undefined; method: string }[];
  server: Server;
}

const USER = 'deployer';
const PASSWORD = 'Pw-s3cret-reg-81x';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

describe('listTags (Registry HTTP API v2 against servers on 127.0.0.1)', function () {
  this.timeout(20_000);
  const servers: Server[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  let scratch: string;
  let noConfig: string;

  const serve = async (handler: Handler): Promise<Scripted> => {
    const requests: Scripted['requests'] = [];
    const server = createServer((req, res) => {
      requests.push({ path: req.url ?? '', authorization: req.headers.authorization, method: req.method ?? '' });
      handler(req, res);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { address, origin: `http://${address}`, requests, server };
  };
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

  /** A DOCKER_CONFIG directory whose config.json holds `auths[registry]` = user:password. */
  const configFor = async (registry: string, password = PASSWORD) => {
    const dir = await mkdtemp(join(scratch, 'config-'));
    const auth = Buffer.from(`${USER}:${password}`).toString('base64');
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [registry]: { auth } } }));
    return dir;
  };
  const deps = (dockerConfig = noConfig, extra: Partial<RegistryClientDeps> = {}): RegistryClientDeps => ({
    env: { DOCKER_CONFIG: dockerConfig, PATH: process.env.PATH },
    clock: systemClock,
    tokens: new TokenCache(),
    ...extra,
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
    scratch = await mkdtemp(join(tmpdir(), 'berth-registry-client-'));
    noConfig = join(scratch, 'none');
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    for (const stop of stoppers.splice(0)) await stop();
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('follows Link rel="next" across 3 pages and returns every tag once, in the registry order', async () => {
    const registry = await serve((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const last = url.searchParams.get('last');
      if (last === null) {
        json(
          res,
          200,
          { name: 'team/web', tags: ['1.0.0', '1.1.0'] },
          {
            link: '</v2/team/web/tags/list?last=1.1.0&n=1000>; rel="next"',
          },
        );
      } else if (last === '1.1.0') {
        json(
          res,
          200,
          { name: 'team/web', tags: ['1.2.0-rc.1', '1.1.0'] },
          {
            link: `<http://${req.headers.host}/v2/team/web/tags/list?last=1.2.0-rc.1&n=1000>; rel="next"`,
          },
        );
      } else {
        json(res, 200, { name: 'team/web', tags: ['2.0.0'] });
      }
    });
    const tags = await listTags(`${registry.address}/team/web`, deps(), signal());
    assert.deepEqual(tags, ['1.0.0', '1.1.0', '1.2.0-rc.1', '2.0.0']);
    assert.deepEqual(
      registry.requests.map((r) => r.path),
      [
        '/v2/team/web/tags/list?n=1000',
        '/v2/team/web/tags/list?last=1.1.0&n=1000',
        '/v2/team/web/tags/list?last=1.2.0-rc.1&n=1000',
      ],
    );
  });

  it('drops what is no Docker tag, and reads "tags": null as none', async () => {
    const registry = await serve((req, res) =>
      req.url?.includes('empty')
        ? json(res, 200, { name: 'team/empty', tags: null })
        : json(res, 200, { name: 'team/web', tags: ['1.0.0', '-bad', '../../etc', 'x'.repeat(200), 'ok_2'] }),
    );
    assert.deepEqual(await listTags(`${registry.address}/team/web`, deps(), signal()), ['1.0.0', 'ok_2']);
    assert.deepEqual(await listTags(`${registry.address}/team/empty`, deps(), signal()), []);
  });

  it('refuses a next page on another origin, which never sees a request', async () => {
    const elsewhere = await serve((_req, res) => json(res, 200, { tags: ['evil'] }));
    const registry = await serve((_req, res) =>
      json(
        res,
        200,
        { tags: ['1.0.0'] },
        { link: `<${elsewhere.origin}/v2/team/web/tags/list?last=1.0.0>; rel="next"` },
      ),
    );
    const error = await failure(listTags(`${registry.address}/team/web`, deps(), signal()));
    assert.equal(error.kind, 'bad-answer');
    assert.equal(error.registry, registry.address);
    assert.equal(
      error.message,
      `${registry.address} gave an unusable answer for team/web: tags page 1 links to a next page on another origin (${elsewhere.origin})`,
    );
    assert.equal(elsewhere.requests.length, 0);
  });

  it('refuses a Link that goes round in circles, and stops at 100 pages', async () => {
    const circle = await serve((_req, res) =>
      json(res, 200, { tags: ['a'] }, { link: '</v2/team/web/tags/list?n=1000>; rel="next"' }),
    );
    const looped = await failure(listTags(`${circle.address}/team/web`, deps(), signal()));
    assert.equal(looped.kind, 'bad-answer');
    assert.match(looped.message, /links back to a page already read/);

    const endless = await serve((req, res) => {
      const page = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? '0');
      json(res, 200, { tags: [`t${page}`] }, { link: `</v2/team/web/tags/list?page=${page + 1}>; rel="next"` });
    });
    const long = await failure(listTags(`${endless.address}/team/web`, deps(), signal()));
    assert.equal(long.kind, 'bad-answer');
    assert.match(long.message, /more than 100 pages of tags$/);
    assert.equal(endless.requests.length, 100);
  });

  it("answers a Basic challenge with config.json's credentials, once", async () => {
    const registry = await serve((req, res) => {
      if (req.headers.authorization !== BASIC) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="Registry Realm"' }).end();
        return;
      }
      json(res, 200, { name: 'team/web', tags: ['v1', 'v2'] });
    });
    const config = await configFor(registry.address);
    assert.deepEqual(await listTags(`${registry.address}/team/web`, deps(config), signal()), ['v1', 'v2']);
    assert.deepEqual(
      registry.requests.map((r) => r.authorization),
      [undefined, BASIC],
    );

    const none = await failure(listTags(`${registry.address}/team/web`, deps(), signal()));
    assert.equal(none.kind, 'refused');
    assert.equal(
      none.message,
      `${registry.address} asks for credentials for team/web, and ${join(noConfig, 'config.json')} has none for ${registry.address} (docker login ${registry.address}, or a credential helper)`,
    );

    const wrongConfig = await configFor(registry.address, 'not-the-password');
    const wrong = await failure(listTags(`${registry.address}/team/web`, deps(wrongConfig), signal()));
    assert.equal(wrong.kind, 'refused');
    assert.equal(
      wrong.message,
      `${registry.address} refused the credentials for team/web: unauthorized (fix them in ${join(wrongConfig, 'config.json')}: berth reads it again on its next look)`,
    );
    assert.equal(registry.requests.length, 2 + 1 + 2, 'one retry with credentials, never more');
  });

  it('answers a Bearer challenge with a token from the realm (Basic credentials to the token service), and caches it per registry and scope until expires_in', async () => {
    const tokens = await RegistryTokenServer.start({
      user: USER,
      password: PASSWORD,
      expiresIn: 120,
      tags: { 'team/web': ['1.0.0', '1.1.0'], 'team/api': ['3.0.0'] },
    });
    stoppers.push(() => tokens.stop());
    const config = await configFor(tokens.address);
    const clock = new FakeClock(Date.now());
    const cache = new TokenCache();
    const look = (repository: string) =>
      listTags(`${tokens.address}/${repository}`, deps(config, { clock, tokens: cache }), signal());

    assert.deepEqual(await look('team/web'), ['1.0.0', '1.1.0']);
    assert.deepEqual(tokens.tokenRequests, [
      { scope: 'repository:team/web:pull', service: 'berth-test', authorized: true },
    ]);
    assert.equal(tokens.registryRequests.length, 2, 'challenged, then answered');

    assert.deepEqual(await look('team/web'), ['1.0.0', '1.1.0']);
    assert.equal(tokens.tokenRequests.length, 1, 'the cached token serves the next look');
    assert.equal(tokens.registryRequests.length, 3, 'straight in with the token');
    assert.match(tokens.registryRequests[2]?.authorization ?? '', /^Bearer /);

    assert.deepEqual(await look('team/api'), ['3.0.0']);
    assert.equal(tokens.tokenRequests.length, 2, 'another scope, another token');

    await clock.advance(121_000);
    assert.deepEqual(await look('team/web'), ['1.0.0', '1.1.0']);
    assert.equal(tokens.tokenRequests.length, 3, 'a new token once expires_in passed');
  });

  it('drops a cached token the registry refuses, and asks the token service again', async () => {
    const tokens = await RegistryTokenServer.start({ user: USER, password: PASSWORD, tags: { 'team/web': ['v1'] } });
    stoppers.push(() => tokens.stop());
    const config = await configFor(tokens.address);
    const cache = new TokenCache();
    cache.set(tokens.address, 'repository:team/web:pull', 'revoked-token', Date.now() + 600_000);
    assert.deepEqual(await listTags(`${tokens.address}/team/web`, deps(config, { tokens: cache }), signal()), ['v1']);
    assert.deepEqual(
      tokens.registryRequests.map((r) => r.authorization?.split(' ')[0]),
      ['Bearer', 'Bearer'],
    );
    assert.equal(tokens.registryRequests[0]?.authorization, 'Bearer revoked-token');
    assert.equal(tokens.tokenRequests.length, 1);
  });

  it('says "refused" when the token service refuses the credentials, and when it has none to send', async () => {
    const tokens = await RegistryTokenServer.start({ user: USER, password: PASSWORD, tags: { 'team/web': ['v1'] } });
    stoppers.push(() => tokens.stop());
    const wrongConfig = await configFor(tokens.address, 'wrong-Pw-991');
    const wrong = await failure(listTags(`${tokens.address}/team/web`, deps(wrongConfig), signal()));
    assert.equal(wrong.kind, 'refused');
    assert.match(wrong.message, new RegExp(`^${tokens.address} refused the credentials for team/web: unauthorized`));
    const none = await failure(listTags(`${tokens.address}/team/web`, deps(), signal()));
    assert.equal(none.kind, 'refused');
    assert.match(none.message, /asks for credentials for team\/web/);
    assert.deepEqual(
      tokens.tokenRequests.map((r) => r.authorized),
      [false, false],
    );
  });

  it('sends an identity token to the realm as the OAuth2 refresh_token form, and credentials to a plain-http realm only on loopback', async () => {
    const seen: { url: string; method: string; authorization: string | null; body: string }[] = [];
    const fakeFetch: typeof fetch = async (input, init) => {
      const url = String(input);
      const headers = new Headers(init?.headers);
      seen.push({
        url,
        method: init?.method ?? 'GET',
        authorization: headers.get('authorization'),
        body: init?.body instanceof URLSearchParams ? init.body.toString() : '',
      });
      if (url.startsWith('https://registry.example.com/v2/')) {
        if (headers.get('authorization') === 'Bearer issued-token')
          return Response.json({ name: 'team/web', tags: ['9.9.9'] });
        const realm = url.includes('plain') ? 'http://auth.example.com/token' : 'https://auth.example.com/token';
        return new Response(null, {
          status: 401,
          headers: { 'www-authenticate': `Bearer realm="${realm}",service="reg",scope="repository:team/web:pull"` },
        });
      }
      if (url.includes('auth.example.com/token')) return Response.json({ access_token: 'issued-token' });
      return new Response(null, { status: 404 });
    };
    const identityConfig = await mkdtemp(join(scratch, 'identity-'));
    await writeFile(
      join(identityConfig, 'config.json'),
      JSON.stringify({ auths: { 'registry.example.com': { identitytoken: 'refresh-Tk-555' } } }),
    );
    assert.deepEqual(
      await listTags('registry.example.com/team/web', deps(identityConfig, { fetch: fakeFetch }), signal()),
      ['9.9.9'],
    );
    const tokenRequest = seen.find((s) => s.url.startsWith('https://auth.example.com/token'));
    assert.equal(tokenRequest?.method, 'POST');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(tokenRequest?.body)), {
      grant_type: 'refresh_token',
      refresh_token: 'refresh-Tk-555',
      client_id: 'berth',
      scope: 'repository:team/web:pull',
      service: 'reg',
    });

    seen.length = 0;
    const basicConfig = await configFor('registry.example.com');
    assert.deepEqual(
      await listTags('registry.example.com/team/plain', deps(basicConfig, { fetch: fakeFetch }), signal()),
      ['9.9.9'],
    );
    const plainRealm = seen.find((s) => s.url.startsWith('http://auth.example.com/token'));
    assert.ok(plainRealm, 'the plain-http realm was asked');
    assert.equal(plainRealm.authorization, null, 'without the credentials: plain http off loopback');
    assert.equal(plainRealm.url, 'http://auth.example.com/token?service=reg&scope=repository%3Ateam%2Fweb%3Apull');
  });

  it('refuses a token realm nearer this machine than the registry (loopback, link-local, private from a public registry), asking it nothing', async () => {
    // A hostile registry off loopback points berth's token request (with the credentials
    // config.json holds for it) at a port any local user could listen on, or at the metadata service.
    const seen: string[] = [];
    let realm = '';
    const fakeFetch: typeof fetch = async (input) => {
      const url = String(input);
      seen.push(url);
      if (url.startsWith('https://registry.example.com/v2/'))
        return new Response(null, {
          status: 401,
          headers: { 'www-authenticate': `Bearer realm="${realm}",service="reg",scope="repository:team/web:pull"` },
        });
      return Response.json({ token: 'should-never-be-asked' });
    };
    const config = await configFor('registry.example.com');
    for (const [near, reach] of [
      ['http://127.0.0.1:9/token', 'loopback'],
      ['https://localhost/token', 'loopback'],
      ['http://[::ffff:127.0.0.1]:9/token', 'loopback'],
      ['http://169.254.169.254/latest/meta-data/', 'link-local'],
      ['https://10.0.0.7/token', 'private'],
    ] as const) {
      realm = near;
      seen.length = 0;
      const refusal = await listTags(
        'registry.example.com/team/web',
        deps(config, { fetch: fakeFetch }),
        signal(),
      ).then(
        () => assert.fail(`a realm at ${near} was used`),
        (error: unknown) => error,
      );
      assert.ok(refusal instanceof RegistryError);
      assert.match(
        refusal.message,
        new RegExp(`token service on a ${reach} address .* from a registry that is not: refused`),
      );
      assert.doesNotMatch(refusal.message, new RegExp(PASSWORD));
      assert.deepEqual(
        seen.filter((url) => !url.startsWith('https://registry.example.com/')),
        [],
        `nothing sent to ${near}`,
      );
    }
  });

  it('speaks https to registries off loopback, http on loopback, and finds Docker Hub at registry-1.docker.io with library/', async () => {
    const urls: string[] = [];
    const fakeFetch: typeof fetch = async (input) => {
      urls.push(String(input));
      return Response.json({ tags: [] });
    };
    for (const repository of [
      'nginx',
      'team/web',
      'docker.io/library/redis',
      'registry.example.com:8443/team/web',
      'localhost:5000/web',
      '127.0.0.1:5000/team/web',
      '[::1]:5000/team/web',
    ])
      await listTags(repository, deps(noConfig, { fetch: fakeFetch }), signal());
    assert.deepEqual(urls, [
      'https://registry-1.docker.io/v2/library/nginx/tags/list?n=1000',
      'https://registry-1.docker.io/v2/team/web/tags/list?n=1000',
      'https://registry-1.docker.io/v2/library/redis/tags/list?n=1000',
      'https://registry.example.com:8443/v2/team/web/tags/list?n=1000',
      'http://localhost:5000/v2/web/tags/list?n=1000',
      'http://127.0.0.1:5000/v2/team/web/tags/list?n=1000',
      'http://[::1]:5000/v2/team/web/tags/list?n=1000',
    ]);
    await assert.rejects(listTags('Team/Web', deps(), signal()), TypeError);
    await assert.rejects(listTags('127.0.0.1:5000/team/web:1.0', deps(), signal()), TypeError);
  });

  it('says 429 with Retry-After in seconds or as a date, bounded to an hour', async () => {
    let retryAfter = '30';
    const registry = await serve((_req, res) => json(res, 429, { errors: [] }, { 'retry-after': retryAfter }));
    const error = await failure(listTags(`${registry.address}/team/web`, deps(), signal()));
    assert.equal(error.kind, 'rate-limited');
    assert.equal(error.retryAfterMs, 30_000);
    assert.equal(error.message, `${registry.address} answered 429 for team/web: retry after 30s`);

    const clock = new FakeClock(Date.parse('2026-12-06T12:00:00Z'));
    retryAfter = 'Sun, 06 Dec 2026 12:02:00 GMT';
    const dated = await failure(listTags(`${registry.address}/team/web`, deps(noConfig, { clock }), signal()));
    assert.equal(dated.retryAfterMs, 120_000);
    assert.equal(dated.message, `${registry.address} answered 429 for team/web: retry after 2m`);

    retryAfter = '86400000';
    assert.equal((await failure(listTags(`${registry.address}/team/web`, deps(), signal()))).retryAfterMs, 3_600_000);
    retryAfter = 'soon';
    const vague = await failure(listTags(`${registry.address}/team/web`, deps(), signal()));
    assert.equal(vague.retryAfterMs, undefined);
    assert.equal(vague.message, `${registry.address} answered 429 for team/web: too many requests, no Retry-After`);
  });

  it('says not-found for 404, unreachable for 5xx and a closed port, bad-answer for junk', async () => {
    let status = 404;
    let body = '{"errors":[{"code":"NAME_UNKNOWN"}]}';
    const registry = await serve((_req, res) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(body),
    );
    const notFound = await failure(listTags(`${registry.address}/team/web`, deps(), signal()));
    assert.equal(notFound.kind, 'not-found');
    assert.equal(notFound.message, `${registry.address} answered 404 for team/web: no such repository`);

    status = 503;
    const down = await failure(listTags(`${registry.address}/team/web`, deps(), signal()));
    assert.equal(down.kind, 'unreachable');
    assert.equal(down.message, `${registry.address} answered 503 for team/web`);

    status = 200;
    body = '<html>not json</html>';
    const html = await failure(listTags(`${registry.address}/team/web`, deps(), signal()));
    assert.equal(html.kind, 'bad-answer');
    assert.equal(html.message, `${registry.address} gave an unusable answer for team/web: tags page 1 is not JSON`);
    body = '{"tags":"1.0.0"}';
    assert.equal((await failure(listTags(`${registry.address}/team/web`, deps(), signal()))).kind, 'bad-answer');

    const closed = await serve(() => undefined);
    const closedAddress = closed.address;
    closed.server.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = await failure(listTags(`${closedAddress}/team/web`, deps(), signal()));
    assert.equal(refused.kind, 'unreachable');
    assert.match(refused.message, new RegExp(`^${closedAddress} is unreachable for team/web: .*ECONNREFUSED`));
  });

  it('cuts an endless body at 4 MiB without holding it, and refuses a declared Content-Length over the bound unread', async () => {
    let written = 0;
    let closedAfter = -1;
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const endless = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"tags":["');
      const pump = () => {
        while (!res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => {
        closedAfter = written;
      });
      pump();
    });
    const cut = await failure(listTags(`${endless.address}/team/web`, deps(), signal()));
    assert.equal(cut.kind, 'bad-answer');
    assert.equal(cut.message, `${endless.address} gave an unusable answer for team/web: a body over the 4 MiB bound`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(closedAfter >= 0, 'the connection was dropped');
    assert.ok(closedAfter < 64 * 1024 * 1024, `read no further than the bound and the socket buffers (${closedAfter})`);

    let declaredSent = 0;
    const declared = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(1024 * 1024 * 1024) });
      res.write('{"tags":[', () => {
        declaredSent += 1;
      });
    });
    const big = await failure(listTags(`${declared.address}/team/web`, deps(), signal()));
    assert.equal(big.kind, 'bad-answer');
    assert.match(big.message, /a body of 1073741824 bytes, over the 4 MiB bound$/);
    assert.ok(declaredSent <= 1);
  });

  it('gives up on a registry that never answers within the timeout, as unreachable', async () => {
    const silent = await serve(() => undefined);
    const started = Date.now();
    const error = await failure(listTags(`${silent.address}/team/web`, deps(noConfig, { timeoutMs: 300 }), signal()));
    assert.equal(error.kind, 'unreachable');
    assert.equal(error.message, `${silent.address} is unreachable for team/web: no answer within 300ms`);
    assert.ok(Date.now() - started < 5_000, 'well within a generous bound');

    const trickle = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"tags":[');
    });
    const stalled = await failure(
      listTags(`${trickle.address}/team/web`, deps(noConfig, { timeoutMs: 300 }), signal()),
    );
    assert.equal(stalled.kind, 'unreachable', 'a body that stops coming times out too');
  });

  it("rejects with the caller's reason when its signal aborts", async () => {
    const silent = await serve(() => undefined);
    const controller = new AbortController();
    const reason = new Error('berth is stopping');
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(listTags(`${silent.address}/team/web`, deps(), controller.signal), (e) => e === reason);
  });

  it('follows a redirect on the same origin, refuses one to another origin (which sees nothing), and stops after 3', async () => {
    const elsewhere = await serve((_req, res) => json(res, 200, { tags: ['evil'] }));
    let mode: 'same' | 'other' | 'loop' = 'same';
    const registry = await serve((req, res) => {
      if (req.headers.authorization !== BASIC) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
        return;
      }
      if (req.url?.startsWith('/moved')) return json(res, 200, { tags: ['v1'] });
      const location =
        mode === 'same' ? '/moved/tags' : mode === 'other' ? `${elsewhere.origin}/v2/team/web/tags/list` : req.url;
      res.writeHead(307, { location }).end();
    });
    const config = await configFor(registry.address);
    assert.deepEqual(await listTags(`${registry.address}/team/web`, deps(config), signal()), ['v1']);
    assert.equal(registry.requests.at(-1)?.authorization, BASIC);

    mode = 'other';
    const other = await failure(listTags(`${registry.address}/team/web`, deps(config), signal()));
    assert.equal(other.kind, 'bad-answer');
    assert.match(other.message, new RegExp(`a redirect to another origin \\(${elsewhere.origin}\\)$`));
    assert.equal(elsewhere.requests.length, 0, 'the credentials never went there');

    mode = 'loop';
    const loop = await failure(listTags(`${registry.address}/team/web`, deps(config), signal()));
    assert.match(loop.message, /more than 3 redirects$/);
  });

  it('puts no credential or token in any message, whatever fails after they were sent', async () => {
    const tokens = await RegistryTokenServer.start({ user: USER, password: PASSWORD, tags: {} });
    stoppers.push(() => tokens.stop());
    let answer: 'ok' | '429' | 'junk' | '500' | 'refuse' = 'ok';
    const registry = await serve((req, res) => {
      if (req.headers.authorization !== BASIC) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
        return;
      }
      if (answer === '429') return json(res, 429, {}, { 'retry-after': '5' });
      if (answer === '500') return json(res, 500, { errors: [{ message: PASSWORD }] });
      if (answer === 'refuse') return json(res, 403, { errors: [{ message: BASIC }] });
      res.writeHead(200).end(`not json ${PASSWORD}`);
    });
    const config = await configFor(registry.address);
    const tokenConfig = await configFor(tokens.address);
    const wrongTokenConfig = await configFor(tokens.address, `${PASSWORD}-wrong`);
    const messages: string[] = [];
    for (answer of ['429', 'junk', '500', 'refuse'] as const)
      messages.push((await failure(listTags(`${registry.address}/team/web`, deps(config), signal()))).message);
    messages.push((await failure(listTags(`${tokens.address}/team/none`, deps(tokenConfig), signal()))).message);
    messages.push((await failure(listTags(`${tokens.address}/team/web`, deps(wrongTokenConfig), signal()))).message);
    const broken = await mkdtemp(join(scratch, 'broken-'));
    await writeFile(join(broken, 'config.json'), `${PASSWORD} {"auths": `);
    messages.push((await failure(listTags(`${registry.address}/team/web`, deps(broken), signal()))).message);

    assert.equal(messages.length, 7);
    const secrets = [PASSWORD, BASIC.slice('Basic '.length), ...tokens.tokens];
    assert.ok(tokens.tokens.length > 0, 'a token was issued');
    for (const message of messages) {
      assert.doesNotMatch(message, /\n/, 'one line');
      for (const secret of secrets) assert.ok(!message.includes(secret), `no credential in: ${message}`);
    }
  });
});
