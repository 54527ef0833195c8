/** The headers a registry answers with, read strictly: WWW-Authenticate, Link, Retry-After; and how a repository names its registry. */
import { strict as assert } from 'node:assert';
import { nextLink } from '../../../src/images/link-header.js';
import { isLoopbackHost, registryRepository } from '../../../src/images/registry-repository.js';
import { MAX_RETRY_AFTER_MS, retryAfterMs } from '../../../src/images/retry-after.js';
import { parseChallenges } from '../../../src/images/www-authenticate.js';

const plain = (header: string) =>
  parseChallenges(header).map((c) => ({
    scheme: c.scheme,
    params: Object.fromEntries(c.params),
    ...(c.token68 !== undefined ? { token68: c.token68 } : {}),
  }));

describe('WWW-Authenticate (parseChallenges)', () => {
  it("reads the registries' challenges: Docker Hub's Bearer, distribution's Basic", () => {
    assert.deepEqual(
      plain(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      ),
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:library/nginx:pull',
          },
        },
      ],
    );
    assert.deepEqual(plain('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  });

  it('reads several challenges in one header (as fetch joins header lines), token68, bare tokens, escapes, any case', () => {
    assert.deepEqual(
      plain('Negotiate abc+/=, BASIC Realm=simple , Bearer realm="a \\"quoted\\" \\\\ one", error=invalid_token'),
      [
        { scheme: 'negotiate', params: {}, token68: 'abc+/=' },
        { scheme: 'basic', params: { realm: 'simple' } },
        { scheme: 'bearer', params: { realm: 'a "quoted" \\ one', error: 'invalid_token' } },
      ],
    );
    assert.deepEqual(plain('Basic'), [{ scheme: 'basic', params: {} }]);
    assert.deepEqual(plain('Bearer realm = "r" ,, scope="a b"'), [
      { scheme: 'bearer', params: { realm: 'r', scope: 'a b' } },
    ]);
  });

  it('refuses what is not a challenge: junk, a twice-named param, control characters, an open quote, an endless header', () => {
    for (const header of [
      '',
      '=',
      'Bearer realm="open',
      'Bearer realm="x", realm="y"',
      'Bearer realm="a\u0000b"',
      'Bearer realm=x=y',
      'Bearer realm="x" scope="y"',
      '"quoted" scheme',
      `Bearer realm="${'x'.repeat(9000)}"`,
    ])
      assert.throws(() => parseChallenges(header), { name: 'ChallengeSyntaxError' }, JSON.stringify(header));
  });

  it('is linear: a long hostile header is refused fast', () => {
    const started = Date.now();
    for (const header of [`Bearer ${'a=b,'.repeat(2000)}`, `Bearer realm="${'\\"'.repeat(4000)}`, ' ,'.repeat(4000)])
      try {
        parseChallenges(header);
      } catch {
        /* refused or not, it must be quick */
      }
    assert.ok(Date.now() - started < 1_000);
  });
});

describe('Link (nextLink)', () => {
  it('finds the rel="next" target among links, relative or absolute', () => {
    assert.equal(
      nextLink('</v2/team/web/tags/list?last=v9&n=1000>; rel="next"'),
      '/v2/team/web/tags/list?last=v9&n=1000',
    );
    assert.equal(
      nextLink(
        '<https://r.example/v2/a/tags/list?last=x>; rel=prev, <https://r.example/v2/a/tags/list?last=y>; title="t"; rel="last next"',
      ),
      'https://r.example/v2/a/tags/list?last=y',
    );
    assert.equal(nextLink('</other>; rel="prev"'), undefined);
    assert.equal(nextLink(null), undefined);
    assert.equal(nextLink(''), undefined);
  });

  it('refuses a Link that is no list of <target>; params', () => {
    for (const header of [
      '/v2/x; rel=next',
      '</v2/x; rel=next',
      '</v2/x> rel=next',
      '</v2/ x>; rel=next',
      `<${'a'.repeat(9000)}>`,
    ])
      assert.throws(() => nextLink(header), { name: 'LinkSyntaxError' }, header);
  });
});

describe('Retry-After (retryAfterMs)', () => {
  const now = Date.parse('2026-12-06T12:00:00Z');
  it('reads seconds and HTTP dates, bounded to [0, 1 hour]', () => {
    assert.equal(retryAfterMs('30', now), 30_000);
    assert.equal(retryAfterMs(' 0 ', now), 0);
    assert.equal(retryAfterMs('Sun, 06 Dec 2026 12:01:30 GMT', now), 90_000);
    assert.equal(retryAfterMs('Sun, 06 Dec 2026 11:00:00 GMT', now), 0, 'a date past is now');
    assert.equal(retryAfterMs('999999999999', now), MAX_RETRY_AFTER_MS);
    assert.equal(retryAfterMs('Fri, 01 Jan 2100 00:00:00 GMT', now), MAX_RETRY_AFTER_MS);
  });
  it('says nothing for what is neither', () => {
    for (const value of [null, undefined, '', '-5', '1.5', 'soon', '2026-12-06', 'tomorrow GMT'])
      assert.equal(retryAfterMs(value, now), undefined, String(value));
  });
});

describe('registryRepository', () => {
  it('names the registry, the repository and the origin', () => {
    assert.deepEqual(registryRepository('127.0.0.1:5000/team/web'), {
      registry: '127.0.0.1:5000',
      name: 'team/web',
      origin: 'http://127.0.0.1:5000',
    });
    assert.deepEqual(registryRepository('nginx'), {
      registry: 'docker.io',
      name: 'library/nginx',
      origin: 'https://registry-1.docker.io',
    });
    assert.deepEqual(registryRepository('index.docker.io/team/web'), {
      registry: 'docker.io',
      name: 'team/web',
      origin: 'https://registry-1.docker.io',
    });
    assert.deepEqual(registryRepository('Registry.Example.com/a/b-c__d.e'), {
      registry: 'registry.example.com',
      name: 'a/b-c__d.e',
      origin: 'https://registry.example.com',
    });
  });
  it('refuses what is no repository', () => {
    for (const repository of [
      '',
      'Team/web',
      'team/web:1',
      'team//web',
      'a/-b',
      'bad host!/x',
      'host:99999/x',
      'r.io/',
    ])
      assert.throws(() => registryRepository(repository), TypeError, repository);
  });
  it('knows loopback', () => {
    for (const host of ['localhost', '127.0.0.1', '127.8.9.10', '::1', '[::1]', '[0:0:0:0:0:0:0:1]'])
      assert.ok(isLoopbackHost(host), host);
    for (const host of ['10.0.0.1', 'localhost.example.com', '128.0.0.1', '::2', 'example.com'])
      assert.ok(!isLoopbackHost(host), host);
  });
});
