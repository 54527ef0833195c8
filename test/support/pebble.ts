/**
 * Let's Encrypt's test CA on loopback: Debian's `pebble` and `pebble-challtestsrv` (its DNS, which
 * answers 127.0.0.1 for every name), on free ports. Pebble's own HTTPS listener uses a certificate
 * made here with openssl from a throwaway CA (`caFile`, for berth's --acme-ca-file); HTTP-01
 * validations go to `httpPort` on 127.0.0.1, where the test's nginx listens. `rootPem()` is the
 * root of the certificates pebble issues, for clients that check them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './nginx.js';
import { stopChild } from './child.js';

export interface PebbleOptions {
  /** Where pebble sends HTTP-01 validations (the test's nginx plain port). */
  httpPort: number;
  /** Lifetime of the certificates pebble issues, in seconds (pebble's default is 5 years). */
  validitySeconds?: number;
}

export class Pebble {
  private children: ChildProcess[] = [];
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly managementPort: number,
    private readonly dnsPort: number,
  ) {}

  /** Prepares certificates and ports; `start()` runs the servers. */
  static async create(options: PebbleOptions): Promise<Pebble> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-pebble-'));
    await openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=berth test pebble CA',
    ]);
    await openssl(dir, [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'key.pem',
      '-out',
      'server.csr',
      '-subj',
      '/CN=localhost',
    ]);
    await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    await openssl(dir, [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'cert.pem',
      '-days',
      '2',
      '-extfile',
      'san.ext',
    ]);
    const [port, managementPort, dnsPort, challtestManagement] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const pebble = new Pebble(dir, port, managementPort, dnsPort);
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${port}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: join(dir, 'cert.pem'),
          privateKey: join(dir, 'key.pem'),
          httpPort: options.httpPort,
          tlsPort: await freePort(),
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
          ...(options.validitySeconds !== undefined ? { certificateValidityPeriod: options.validitySeconds } : {}),
        },
      }),
    );
    pebble.challtestManagement = challtestManagement;
    return pebble;
  }

  private challtestManagement = 0;

  get directoryUrl(): string {
    return `https://127.0.0.1:${this.port}/dir`;
  }

  get caFile(): string {
    return join(this.dir, 'ca.pem');
  }

  async start(): Promise<void> {
    const dns = spawn(
      'pebble-challtestsrv',
      [
        '-defaultIPv4',
        '127.0.0.1',
        '-defaultIPv6',
        '',
        '-dns01',
        `127.0.0.1:${this.dnsPort}`,
        '-http01',
        '',
        '-https01',
        '',
        '-tlsalpn01',
        '',
        '-management',
        `127.0.0.1:${this.challtestManagement}`,
      ],
      { stdio: 'ignore' },
    );
    const ca = spawn('pebble', ['-config', join(this.dir, 'config.json'), '-dnsserver', `127.0.0.1:${this.dnsPort}`], {
      // No random sleeps before validations, no nonces refused at random: tests wait on berth, not on luck.
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
      stdio: 'ignore',
    });
    this.children.push(dns, ca);
    const deadline = Date.now() + 15_000;
    while (!(await this.answers())) {
      if (Date.now() > deadline || ca.exitCode !== null)
        throw new Error(`pebble did not start on 127.0.0.1:${this.port}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops both servers (pebble forgets every account and certificate). */
  async stopServers(): Promise<void> {
    await Promise.all(this.children.map((child) => stopChild(child, 'SIGTERM')));
    this.children = [];
  }

  async stop(): Promise<void> {
    await this.stopServers();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** The root of the certificates this pebble run issues. */
  async rootPem(): Promise<string> {
    return this.fetchText(`https://127.0.0.1:${this.managementPort}/roots/0`);
  }

  /** Every intermediate/root pebble may chain to, for a client's trust store. */
  async trust(): Promise<string[]> {
    return [await this.rootPem(), await this.fetchText(`https://127.0.0.1:${this.managementPort}/intermediates/0`)];
  }

  private async answers(): Promise<boolean> {
    return this.fetchText(this.directoryUrl).then(
      () => true,
      () => false,
    );
  }

  private async fetchText(url: string): Promise<string> {
    const ca = await readFile(this.caFile, 'utf8');
    return new Promise((resolve, reject) => {
      get(url, { ca, timeout: 2_000 }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () =>
          response.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${response.statusCode}`)),
        );
      })
        .on('error', reject)
        .on('timeout', function (this: { destroy(e: Error): void }) {
          this.destroy(new Error(`${url}: no answer`));
        });
    });
  }
}

function openssl(dir: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd: dir }, (error, _stdout, stderr) =>
      error ? reject(new Error(`openssl ${args[0]}: ${stderr.trim() || error.message}`)) : resolve(),
    );
  });
}
