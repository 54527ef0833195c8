import { strict as assert } from 'node:assert';
import { renderServerBlock, upstreamName } from '../../../src/proxy/nginx-config.js';

describe('renderServerBlock', () => {
  const block = {
    namespace: 'dokku',
    app: 'web',
    listen: '127.0.0.1:8080',
    domains: ['web.example.test', 'www.example.test'],
  };

  it('balances the server block over every endpoint, in a stable order', () => {
    const text = renderServerBlock({ ...block, endpoints: ['127.0.0.1:32770', '127.0.0.1:32769'] });
    assert.match(
      text,
      /upstream berth\.dokku\.web \{\n {4}server 127\.0\.0\.1:32769 max_fails=0;\n {4}server 127\.0\.0\.1:32770 max_fails=0;/,
    );
    assert.match(text, /listen 127\.0\.0\.1:8080;/);
    assert.match(text, /server_name web\.example\.test www\.example\.test;/);
    assert.match(text, /proxy_pass http:\/\/berth\.dokku\.web;/);
    assert.equal(text, renderServerBlock({ ...block, endpoints: ['127.0.0.1:32769', '127.0.0.1:32770'] }));
  });

  it('puts backups after the endpoints with nginx backup, tried only once the endpoints failed a request', () => {
    const text = renderServerBlock({
      ...block,
      endpoints: ['127.0.0.1:32771'],
      backups: ['127.0.0.1:32770', '127.0.0.1:32771'],
    });
    assert.match(
      text,
      /upstream berth\.dokku\.web \{\n {4}server 127\.0\.0\.1:32771 max_fails=0;\n {4}server 127\.0\.0\.1:32770 max_fails=0 backup;\n {4}keepalive/,
    );
    // A request is retried on the next server only when it failed before reaching the app, or got 502/503.
    assert.match(text, /proxy_next_upstream error timeout http_502 http_503;/);
  });

  it('answers 503 when nothing serves, since nginx refuses an empty upstream', () => {
    const text = renderServerBlock({ ...block, endpoints: [] });
    assert.doesNotMatch(text, /upstream/);
    assert.match(text, /return 503;/);
  });

  it('names upstreams with characters nginx accepts, one per namespace and app', () => {
    assert.equal(upstreamName('team.a-b', 'my-app'), 'berth.team.a-b.my-app');
    // The previous naming gave both `berth_prod_eu_web`.
    assert.notEqual(upstreamName('prod', 'eu-web'), upstreamName('prod-eu', 'web'));
    assert.notEqual(upstreamName('prod_eu', 'web'), upstreamName('prod-eu', 'web'));
  });

  describe('with TLS', () => {
    const certificate = {
      certFile: '/state/tls/dokku/web.example.test.crt',
      keyFile: '/state/tls/dokku/web.example.test.key',
      fingerprint: 'AB:CD',
    };
    const tls = (certified: string[], challengeRoot: string | null = '/etc/nginx/conf.d/berth-dokku-acme') => ({
      listen: '127.0.0.1:8443',
      ...(challengeRoot !== null ? { challengeRoot } : {}),
      certificates: { certificateFor: (domain: string) => (certified.includes(domain) ? certificate : undefined) },
    });

    it('serves a certified domain on the TLS listener and redirects its plain one, keeping ACME challenges answerable', () => {
      const text = renderServerBlock({ ...block, endpoints: ['127.0.0.1:32769'], tls: tls(['web.example.test']) });
      const servers = text.split(/^server \{$/m).slice(1);
      assert.equal(servers.length, 3, 'plain for www, plain redirect for web, TLS for web');
      assert.match(
        servers[0]!,
        /server_name www\.example\.test;[\s\S]*location \/\.well-known\/acme-challenge\/ \{\n {8}root \/etc\/nginx\/conf\.d\/berth-dokku-acme;[\s\S]*proxy_pass http:\/\/berth\.dokku\.web;/,
      );
      assert.match(
        servers[1]!,
        /server_name web\.example\.test;[\s\S]*acme-challenge[\s\S]*return 301 https:\/\/\$host:8443\$request_uri;/,
      );
      assert.match(
        servers[2]!,
        /listen 127\.0\.0\.1:8443 ssl;\n {4}server_name web\.example\.test;\n {4}# certificate AB:CD\n {4}ssl_certificate \/state\/tls\/dokku\/web\.example\.test\.crt;\n {4}ssl_certificate_key \/state\/tls\/dokku\/web\.example\.test\.key;[\s\S]*proxy_pass/,
      );
    });

    it('rewrites the block when the certificate changes (a renewal), and redirects without a port on 443', () => {
      const renewed = renderServerBlock({
        ...block,
        endpoints: [],
        tls: {
          ...tls(['web.example.test', 'www.example.test']),
          listen: '443',
          certificates: { certificateFor: () => ({ ...certificate, fingerprint: 'EF:01' }) },
        },
      });
      assert.notEqual(
        renewed,
        renderServerBlock({
          ...block,
          endpoints: [],
          tls: { ...tls(['web.example.test', 'www.example.test']), listen: '443' },
        }),
      );
      assert.match(renewed, /return 301 https:\/\/\$host\$request_uri;/);
      assert.match(
        renewed,
        /listen 443 ssl;\n {4}server_name web\.example\.test www\.example\.test;[\s\S]*return 503;/,
      );
    });

    it('without certificates or ACME, writes what it wrote without TLS', () => {
      assert.equal(
        renderServerBlock({ ...block, endpoints: ['127.0.0.1:1'], tls: tls([], null) }),
        renderServerBlock({ ...block, endpoints: ['127.0.0.1:1'] }),
      );
    });
  });
});
