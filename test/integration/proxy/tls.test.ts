/**
 * HTTPS through berth's nginx with certificates from a real ACME server (pebble, Let's Encrypt's
 * test CA, on loopback) and from --tls-cert-dir. One berth runs throughout, started while the CA
 * is still down; pebble issues 30-second certificates, so renewals happen while the tests run.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage } from '../../support/docker.js';
import { EventFile, expectEvents } from '../../support/event-sink.js';
import type { BerthEvent } from '../../../src/events/types.js';
import { startLoad } from '../../support/load.js';
import { freePort, PrivateNginx } from '../../support/nginx.js';
import { Pebble } from '../../support/pebble.js';
import { Scenario } from '../../support/scenario.js';

const HOST = 'shop.example.test';
const OWN = 'own.example.test';
const LOAD_TIMEOUT_MS = 10_000;

describe('berth run --proxy nginx with HTTPS (real nginx, real ACME server)', function () {
  this.timeout(180_000);
  let world: Scenario;
  let nginx: PrivateNginx;
  let pebble: Pebble;
  let berth: BerthProcess;
  let tlsPort: number;
  let ownDir: string;
  let trust: string[] = [];
  let statusPort: number;
  let berthFlags: string[];
  /** Where `--notify-exec` puts every event (certificate.failed, certificate.issued). */
  let sink: EventFile;

  const spec = (tag: string, domains = [HOST]) => ({
    tag,
    domains,
    replicas: 2,
    checks: { http: [{ path: '/health', content: 'ok', wait: 0, attempts: 20, timeout: 1 }] },
    deploy: { retireAfter: 1 },
  });

  /** GET https://<host>:<tlsPort><path> through nginx, checking the certificate against `ca`. */
  function httpsGet(
    host: string,
    path = '/',
    ca: string[] = trust,
    timeoutMs = 3_000,
  ): Promise<{ status: number; body: string; certificate: X509Certificate }> {
    const options: RequestOptions = {
      host: '127.0.0.1',
      port: tlsPort,
      path,
      servername: host,
      headers: { host },
      ca,
      timeout: timeoutMs,
      agent: false,
    };
    return new Promise((resolve, reject) => {
      const req = request(options, (res) => {
        const certificate = new X509Certificate((res.socket as TLSSocket).getPeerCertificate().raw);
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, certificate }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }
  const certificates = async (app: string) => (await world.status()).find((a) => a.app === app)?.certificates ?? [];

  before(async () => {
    world = await Scenario.create();
    tlsPort = await freePort();
    nginx = await PrivateNginx.start({ tlsPort });
    statusPort = await freePort();
    pebble = await Pebble.create({ httpPort: nginx.port, validitySeconds: 30 });
    ownDir = await mkdtemp(join(tmpdir(), 'berth-own-certs-'));
    await selfSigned(ownDir, OWN, 'first');
    await selfSigned(ownDir, 'bad.example.test', 'bad');
    await writeFile(join(ownDir, 'bad.example.test.key'), await readFile(join(ownDir, `${OWN}.key`)));
    for (const tag of ['blue', 'green']) await buildTestImage(`${world.namespace}/shop`, tag, { body: tag });
    await world.writeManifest('shop', spec('blue'));
    await world.writeManifest('own', { ...spec('blue', [OWN]), image: `${world.namespace}/shop`, replicas: 1 });
    sink = await EventFile.create();
    berthFlags = [
      ...sink.flags(),
      ...nginx.berthFlags(),
      '--proxy-tls-listen',
      `127.0.0.1:${tlsPort}`,
      '--acme-directory',
      pebble.directoryUrl,
      '--acme-email',
      'ops@example.test',
      '--acme-ca-file',
      pebble.caFile,
      '--tls-cert-dir',
      ownDir,
      '--listen',
      `127.0.0.1:${statusPort}`,
    ];
    berth = world.start(berthFlags);
  });
  after(async () => {
    await world.cleanup();
    await nginx.stop();
    await pebble.stop();
    await rm(ownDir, { recursive: true, force: true });
    await sink.remove();
  });

  it('with the CA down, serves over plain HTTP, reports the failed order, and gets the certificate once the CA is up', async () => {
    await eventually(async () => (await nginx.get(HOST)).body === 'blue', 60_000, 'shop over plain HTTP');
    const failed = await eventually(
      async () => (await certificates('shop')).find((c) => c.state === 'failed'),
      30_000,
      'a failed order in status',
    );
    assert.match(failed.error ?? '', /cannot reach the ACME directory https:\/\/127\.0\.0\.1:\d+\/dir: ECONNREFUSED/);
    assert.equal((await nginx.get(HOST)).status, 200, 'no redirect without a certificate');
    await pebble.start();
    trust = await pebble.trust();
    const answer = await eventually(async () => httpsGet(HOST).catch(() => undefined), 60_000, 'shop over HTTPS');
    assert.equal(answer.body, 'blue');
    assert.ok(answer.certificate.checkHost(HOST), 'the certificate names the domain');
    assert.match(answer.certificate.issuer, /Pebble Intermediate CA/);
    const issued = await eventually(
      async () => (await certificates('shop')).find((c) => c.state === 'issued'),
      10_000,
      'issued in status',
    );
    assert.match(issued.issuer ?? '', /Pebble Intermediate CA/);
    assert.ok(issued.notAfter !== null && Date.parse(issued.notAfter) > Date.now());
    const metrics = await (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(
        `^berth_certificate_expiry_timestamp_seconds\\{domain="${HOST.replace(/\./g, '\\.')}",app="shop"\\} \\d+$`,
        'm',
      ),
    );
    assert.match(metrics, /^berth_certificate_order_failing\{domain="shop\.example\.test",app="shop"\} 0$/m);
    const timeline = JSON.parse((await world.cli(['events', 'shop', '--json'])).stdout) as {
      type: string;
      message: string;
    }[];
    assert.match(
      timeline.find((e) => e.type === 'certificate.failed')?.message ?? '',
      /^certificate for shop\.example\.test not issued: cannot reach the ACME directory/,
    );
    assert.match(
      timeline.find((e) => e.type === 'certificate.issued')?.message ?? '',
      /^certificate for shop\.example\.test issued by Pebble Intermediate CA/,
    );
    const events = async () => JSON.parse((await world.cli(['events', '--json'])).stdout) as BerthEvent[];
    const ofShop = { namespace: world.namespace, app: 'shop', where: (e: BerthEvent) => e.details.domain === HOST };
    const [failedEvent] = await expectEvents(sink, events, 'certificate.failed', ofShop);
    assert.deepEqual(
      [failedEvent!.details.renewal, /cannot reach the ACME directory/.test(String(failedEvent!.details.reason))],
      [false, true],
    );
    const [issuedEvent] = await expectEvents(sink, events, 'certificate.issued', ofShop);
    assert.match(String(issuedEvent!.details.issuer), /Pebble Intermediate CA/);
    assert.ok(Date.parse(String(issuedEvent!.details.notAfter)) > Date.now() - 60_000);
    const page = await (await fetch(`http://127.0.0.1:${statusPort}/`)).text();
    assert.match(page, /shop\.example\.test: issued by Pebble Intermediate CA/);
  });

  it('redirects plain HTTP to HTTPS, except the ACME challenge path; keeps the key 0600 in the state directory', async () => {
    const plain = await nginx.get(HOST, '/page?q=1');
    assert.equal(plain.status, 301);
    const location = await new Promise<string | undefined>((resolve, reject) => {
      import('node:http').then(({ request: get }) =>
        get({ host: '127.0.0.1', port: nginx.port, path: '/page?q=1', headers: { host: HOST } }, (res) => {
          res.resume();
          resolve(res.headers.location);
        })
          .on('error', reject)
          .end(),
      );
    });
    assert.equal(location, `https://${HOST}:${tlsPort}/page?q=1`);
    assert.equal(
      (await nginx.get(HOST, '/.well-known/acme-challenge/unknown-token')).status,
      404,
      'challenges are answered, not redirected',
    );
    const dir = join(world.stateDir, 'tls', world.namespace);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f === 'account.key'),
      ['account.key'],
    );
    const key = (await readdir(dir)).find((f) => f.startsWith(`${HOST}@`) && f.endsWith('.key'));
    assert.ok(key, 'a key of the domain in the state directory');
    const mode = await new Promise<string>((resolve, reject) =>
      execFile('stat', ['-c', '%a', join(dir, key)], (e, out) => (e ? reject(e) : resolve(out.trim()))),
    );
    assert.equal(mode, '600');
  });

  it('reuses its certificates and account across a restart: no new order', async () => {
    // pebble's certificates live 30 s and are renewed at two thirds of that: restart right after
    // one is issued, so none is due again until well after the restart, and the same one must serve.
    const stale = (await httpsGet(HOST)).certificate.fingerprint256;
    await berth.waitForLog((l) => /^Certificate for .* issued by/.test(l.msg), 40_000, berth.logs.length);
    const served = await eventually(
      async () => {
        const now = (await httpsGet(HOST)).certificate.fingerprint256;
        return now !== stale ? now : undefined;
      },
      10_000,
      'the renewed certificate served',
    );
    assert.equal(await berth.stop(), 0);
    berth = world.start(berthFlags);
    await berth.waitForLog((l) => l.step === 'ready', 30_000);
    const after = await httpsGet(HOST);
    assert.equal(after.body, 'blue');
    assert.equal(after.certificate.fingerprint256, served, 'the same certificate, read back from the state directory');
    assert.ok(!berth.logs.some((l) => /^(Ordering|Renewing) a certificate/.test(l.msg)), 'nothing ordered anew');
  });

  it('deploys zero-downtime under HTTPS load, and renews the short-lived certificate without a failed request', async () => {
    const before = (await httpsGet(HOST)).certificate.fingerprint256;
    const seen = new Set<string>([before]);
    const load = startLoad(
      async () => {
        const answer = await httpsGet(HOST, '/', trust, LOAD_TIMEOUT_MS);
        seen.add(answer.certificate.fingerprint256);
        return answer;
      },
      (body) => body === 'blue' || body === 'green',
    );
    await world.writeManifest('shop', spec('green'));
    await eventually(async () => (await httpsGet(HOST)).body === 'green', 60_000, 'green over HTTPS');
    // A 30 s certificate is renewed 10 s before it expires: one renewal at least within 25 s.
    await eventually(async () => seen.size > 1, 40_000, 'a renewed certificate served');
    const result = await load.stop();
    assert.ok(result.requests > 100, `only ${result.requests} requests`);
    assert.deepEqual(
      result.failures.slice(0, 5),
      [],
      `${result.failures.length} of ${result.requests} requests failed`,
    );
    assert.ok(berth.logs.some((l) => /^Renewing a certificate for shop\.example\.test/.test(l.msg)));
  });

  it('serves its own certificates from --tls-cert-dir instead of ACME, refuses a mismatched pair in one line, and reloads a replaced one', async () => {
    const first = await eventually(
      async () => httpsGet(OWN, '/', [await readFile(join(ownDir, `${OWN}.crt`), 'utf8')]).catch(() => undefined),
      30_000,
      'own over HTTPS',
    );
    assert.equal(first.body, 'blue');
    assert.equal((await certificates('own'))[0]?.state, 'own');
    const refused = berth.logs.find((l) => l.level === 40 && /bad\.example\.test/.test(l.msg));
    assert.match(
      refused?.msg ?? '',
      /^--tls-cert-dir: .*bad\.example\.test\.key is not the key of .*bad\.example\.test\.crt; that pair is not used$/,
    );
    assert.ok(
      !berth.logs.some((l) => l.domain === OWN && /Ordering/.test(l.msg)),
      'no ACME order for a domain with its own certificate',
    );
    await selfSigned(ownDir, OWN, 'second');
    const replaced = await readFile(join(ownDir, `${OWN}.crt`), 'utf8');
    const next = await eventually(
      async () => httpsGet(OWN, '/', [replaced]).catch(() => undefined),
      30_000,
      'the replaced certificate served',
    );
    assert.notEqual(next.certificate.fingerprint256, first.certificate.fingerprint256);
  });

  it("removes the certificate with the app's last domain", async () => {
    const pairs = async () =>
      (await readdir(join(world.stateDir, 'tls', world.namespace))).filter((f) => f.startsWith(`${HOST}@`));
    assert.ok((await pairs()).length >= 2, 'a certificate and its key');
    await world.writeManifest('shop', { ...spec('green', []), domains: undefined });
    await eventually(async () => (await pairs()).length === 0, 30_000, 'the certificate and key removed');
    await eventually(
      async () =>
        (await httpsGet(HOST).then(
          () => 'served',
          () => 'gone',
        )) === 'gone',
      30_000,
      'no HTTPS for the removed domain',
    );
    // The status follows the removal (a renewal of these 30 s certificates may have been under way).
    await eventually(async () => (await certificates('shop')).length === 0, 15_000, 'no certificate in the status');
  });
});

/** A self-signed pair for `domain` in `dir` (`<domain>.crt`, `<domain>.key`); `label` makes each one distinct. */
function selfSigned(dir: string, domain: string, label: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${domain}.key`,
        '-out',
        `${domain}.crt`,
        '-days',
        '2',
        '-subj',
        `/CN=${domain} ${label}`,
        '-addext',
        `subjectAltName=DNS:${domain}`,
      ],
      { cwd: dir },
      (error, _o, stderr) => (error ? reject(new Error(stderr || error.message)) : resolve()),
    ),
  );
}
