import { strict as assert } from 'node:assert';
import { blockFileMode, renderServerBlock } from '../../../src/proxy/nginx-config.js';
import { accessLogFormatName } from '../../../src/proxy/nginx-names.js';

describe('renderServerBlock with a canary and an access log', () => {
  const block = { namespace: 'dokku', app: 'web', listen: '127.0.0.1:8080', domains: ['web.example.test'] };
  const TOKEN = 'k3Y_-0123456789abcdefXYZ';
  const accessLog = { address: '127.0.0.1:51413', token: TOKEN };
  const ports = (first: number, count: number) => Array.from({ length: count }, (_, i) => `127.0.0.1:${first + i}`);

  /** The upstream's server lines as (address, weight, backup), in the file's order. */
  function serversOf(text: string): { address: string; weight: number; backup: boolean }[] {
    return [...text.matchAll(/^ {4}server (\S+)((?: [a-z_]+=\d+| backup)*);$/gm)].map((m) => ({
      address: m[1] ?? '',
      weight: Number(/weight=(\d+)/.exec(m[2] ?? '')?.[1] ?? 1),
      backup: / backup/.test(m[2] ?? ''),
    }));
  }

  it('gives the canary servers together exactly their percent at 10, 25 and 50% with 1-3 servers each', () => {
    for (const percent of [10, 25, 50])
      for (let s = 1; s <= 3; s++)
        for (let c = 1; c <= 3; c++) {
          const stable = ports(32000, s);
          const canary = ports(33000, c);
          const servers = serversOf(
            renderServerBlock({ ...block, endpoints: stable, canary: { endpoints: canary, percent } }),
          );
          assert.deepEqual(
            servers.map((x) => x.address),
            [...stable, ...canary],
          );
          const total = servers.reduce((sum, x) => sum + x.weight, 0);
          const toCanary = servers.filter((x) => canary.includes(x.address)).reduce((sum, x) => sum + x.weight, 0);
          assert.equal(toCanary / total, percent / 100, `${s} stable + ${c} canary at ${percent}%`);
        }
  });

  it('writes the weights of the examples: 9 and 1 at 10%; 3, 3 and 2 at 25%', () => {
    const one = renderServerBlock({
      ...block,
      endpoints: ['127.0.0.1:32768'],
      canary: { endpoints: ['127.0.0.1:32769'], percent: 10 },
    });
    assert.match(
      one,
      /upstream berth\.dokku\.web \{\n {4}server 127\.0\.0\.1:32768 weight=9 max_fails=0;\n {4}# canary: 10% of requests\n {4}server 127\.0\.0\.1:32769 weight=1 max_fails=0;\n {4}keepalive 16;\n\}/,
    );
    const two = renderServerBlock({
      ...block,
      endpoints: ['127.0.0.1:32771', '127.0.0.1:32770'],
      canary: { endpoints: ['127.0.0.1:32772'], percent: 25 },
    });
    assert.deepEqual(
      serversOf(two).map((x) => `${x.address}=${x.weight}`),
      ['127.0.0.1:32770=3', '127.0.0.1:32771=3', '127.0.0.1:32772=2'],
    );
  });

  it('keeps backups as nginx backup servers after the split, and lists an address once', () => {
    const text = renderServerBlock({
      ...block,
      endpoints: ['127.0.0.1:32768'],
      canary: { endpoints: ['127.0.0.1:32769', '127.0.0.1:32768'], percent: 50 },
      backups: ['127.0.0.1:32770', '127.0.0.1:32769'],
    });
    assert.deepEqual(serversOf(text), [
      { address: '127.0.0.1:32768', weight: 1, backup: false },
      { address: '127.0.0.1:32769', weight: 1, backup: false },
      { address: '127.0.0.1:32770', weight: 1, backup: true },
    ]);
    assert.match(text, /server 127\.0\.0\.1:32770 max_fails=0 backup;/);
  });

  it('writes the same block as before when there is no split to make', () => {
    const plain = renderServerBlock({ ...block, endpoints: ['127.0.0.1:32768'] });
    assert.equal(
      renderServerBlock({ ...block, endpoints: ['127.0.0.1:32768'], canary: { endpoints: [], percent: 10 } }),
      plain,
    );
    assert.equal(renderServerBlock({ ...block, endpoints: ['127.0.0.1:32768'], backups: [] }), plain);
    assert.doesNotMatch(plain, /weight=|log_format|access_log/);
  });

  it('refuses a canary percent that is no split', () => {
    for (const percent of [0, 100, 12.5])
      assert.throws(
        () =>
          renderServerBlock({
            ...block,
            endpoints: ['127.0.0.1:32768'],
            canary: { endpoints: ['127.0.0.1:32769'], percent },
          }),
        RangeError,
      );
  });

  it('logs every proxied request as the token then JSON of nginx variables, to syslog on the listener', () => {
    const text = renderServerBlock({
      ...block,
      endpoints: ['127.0.0.1:32768'],
      canary: { endpoints: ['127.0.0.1:32769'], percent: 10 },
      accessLog,
    });
    const lines = text.split('\n');
    assert.equal(
      lines[1],
      `log_format berth.dokku.web.access escape=json '${TOKEN} {"upstream_addr":"$upstream_addr","upstream_status":"$upstream_status","upstream_response_time":"$upstream_response_time","status":"$status","request_time":"$request_time","msec":"$msec"}';`,
      'at the top of the file, which nginx includes at http level',
    );
    assert.match(
      text,
      /location \/ \{\n(?: {8}.*\n)* {8}access_log syslog:server=127\.0\.0\.1:51413,tag=berth,nohostname berth\.dokku\.web\.access;\n {4}\}/,
    );
    assert.equal(text.split('access_log').length - 1, 1);
  });

  it('logs in every server that proxies, plain and TLS', () => {
    const certificate = { certFile: '/tls/web.crt', keyFile: '/tls/web.key', fingerprint: 'AB' };
    const text = renderServerBlock({
      ...block,
      domains: ['web.example.test', 'plain.example.test'],
      endpoints: ['127.0.0.1:32768'],
      accessLog,
      tls: {
        listen: '443',
        certificates: { certificateFor: (d: string) => (d === 'web.example.test' ? certificate : undefined) },
      },
    });
    // the plain domain and the TLS server proxy; the redirecting server does not
    assert.equal(text.split('access_log syslog:').length - 1, 2);
    assert.equal(text.split('log_format ').length - 1, 1);
  });

  it('neither declares nor uses a format when nothing serves (nginx answers 503 itself)', () => {
    const text = renderServerBlock({ ...block, endpoints: [], accessLog });
    assert.doesNotMatch(text, /log_format|access_log/);
    assert.doesNotMatch(text, new RegExp(TOKEN));
  });

  it('names the format once per namespace and app, as nginx wants it unique across files', () => {
    assert.equal(accessLogFormatName('dokku', 'web'), 'berth.dokku.web.access');
    assert.notEqual(accessLogFormatName('prod', 'eu-web'), accessLogFormatName('prod-eu', 'web'));
    assert.notEqual(accessLogFormatName('prod.eu', 'web'), accessLogFormatName('prod', 'eu'));
  });

  it('refuses a log address off the loopback and a token nginx would read as syntax, never quoting the token', () => {
    const endpoints = ['127.0.0.1:32768'];
    for (const address of ['10.0.0.1:514', '127.0.0.1:0', '127.0.0.1:70000', 'localhost:514', '127.0.0.1:514,tag=x'])
      assert.throws(() => renderServerBlock({ ...block, endpoints, accessLog: { address, token: TOKEN } }), RangeError);
    for (const token of ['short', `${TOKEN}' ; include /etc/passwd; '`, `${TOKEN} ${TOKEN}`, 'x'.repeat(129)])
      assert.throws(
        () => renderServerBlock({ ...block, endpoints, accessLog: { address: accessLog.address, token } }),
        (error: Error) => error instanceof RangeError && !error.message.includes(token),
      );
    assert.doesNotThrow(() =>
      renderServerBlock({ ...block, endpoints, accessLog: { address: '[::1]:514', token: TOKEN } }),
    );
  });

  it('writes a block that carries the token readable by its owner only', () => {
    const endpoints = ['127.0.0.1:32768'];
    assert.equal(blockFileMode(renderServerBlock({ ...block, endpoints, accessLog })), 0o600);
    assert.equal(blockFileMode(renderServerBlock({ ...block, endpoints })), 0o644);
  });
});
