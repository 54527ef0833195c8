/**
 * A hostile ACME server on loopback: just enough of RFC 8555 over HTTPS for acme-client to reach
 * an order's authorization (the directory, `newNonce` with `Replay-Nonce`, `newAccount` 201 with
 * its `Location`, `newOrder` 201 with one authorization per identifier, the authorization as a
 * POST-as-GET), whose http-01 challenge carries the token `tokenFor(domain)` chooses. Signatures
 * are not checked: the server only has to be believed. Every request is recorded (`requests`).
 * Its certificate is self-signed, made with openssl in its temp dir; `caFile` is that certificate,
 * for berth's `--acme-ca-file`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AcmeRequest {
  method: string;
  path: string;
  /** The decoded JWS payload of a POST (`''` for a POST-as-GET). */
  payload: string;
}

export class HostileAcme {
  readonly requests: AcmeRequest[] = [];
  private readonly orders = new Map<string, string>();

  private constructor(
    readonly dir: string,
    private readonly server: Server,
    private readonly tokenFor: (domain: string) => string,
  ) {}

  static async start(tokenFor: (domain: string) => string): Promise<HostileAcme> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-hostile-acme-'));
    await new Promise<void>((resolve, reject) =>
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
          'key.pem',
          '-out',
          'cert.pem',
          '-days',
          '2',
          '-subj',
          '/CN=berth test hostile ACME',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
        ],
        { cwd: dir },
        (error, _out, stderr) => (error ? reject(new Error(`openssl: ${stderr.trim() || error.message}`)) : resolve()),
      ),
    );
    const server = createServer({
      key: await readFile(join(dir, 'key.pem')),
      cert: await readFile(join(dir, 'cert.pem')),
    });
    const acme = new HostileAcme(dir, server, tokenFor);
    server.on('request', (request, response) => {
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        const { status, headers, json } = acme.answer(request.method ?? 'GET', request.url ?? '/', body);
        response.writeHead(status, {
          'replay-nonce': randomBytes(16).toString('base64url'),
          'cache-control': 'no-store',
          ...(json === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        });
        response.end(json === undefined ? undefined : JSON.stringify(json));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return acme;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get directoryUrl(): string {
    return `${this.url}/dir`;
  }

  get caFile(): string {
    return join(this.dir, 'cert.pem');
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }

  private answer(
    method: string,
    path: string,
    body: string,
  ): { status: number; headers?: Record<string, string>; json?: unknown } {
    const payload = method === 'POST' ? decodePayload(body) : '';
    this.requests.push({ method, path, payload });
    if (path === '/dir')
      return {
        status: 200,
        json: {
          newNonce: `${this.url}/nonce`,
          newAccount: `${this.url}/account`,
          newOrder: `${this.url}/order`,
          revokeCert: `${this.url}/revoke`,
          keyChange: `${this.url}/key-change`,
        },
      };
    if (path === '/nonce') return { status: method === 'HEAD' ? 200 : 204 };
    if (path === '/account' && method === 'POST')
      return { status: 201, headers: { location: `${this.url}/acct/1` }, json: { status: 'valid' } };
    if (path === '/acct/1' && method === 'POST') return { status: 200, json: { status: 'valid' } };
    if (path === '/order' && method === 'POST') {
      const identifiers = (JSON.parse(payload) as { identifiers: { type: string; value: string }[] }).identifiers;
      const id = String(this.orders.size + 1);
      this.orders.set(id, identifiers[0]?.value ?? '');
      return {
        status: 201,
        headers: { location: `${this.url}/orders/${id}` },
        json: {
          status: 'pending',
          expires: new Date(Date.now() + 3_600_000).toISOString(),
          identifiers,
          authorizations: [`${this.url}/authz/${id}`],
          finalize: `${this.url}/finalize/${id}`,
        },
      };
    }
    const authz = /^\/authz\/(\d+)$/.exec(path);
    const domain = authz ? this.orders.get(authz[1]!) : undefined;
    if (authz && domain !== undefined && method === 'POST') {
      if (payload !== '')
        return {
          status: 200,
          json: { status: 'deactivated', identifier: { type: 'dns', value: domain }, challenges: [] },
        };
      return {
        status: 200,
        json: {
          status: 'pending',
          expires: new Date(Date.now() + 3_600_000).toISOString(),
          identifier: { type: 'dns', value: domain },
          challenges: [
            { type: 'http-01', status: 'pending', url: `${this.url}/chall/${authz[1]}`, token: this.tokenFor(domain) },
          ],
        },
      };
    }
    return {
      status: 404,
      json: { type: 'urn:ietf:params:acme:error:malformed', detail: `${method} ${path}: not here` },
    };
  }
}

function decodePayload(body: string): string {
  try {
    return Buffer.from((JSON.parse(body) as { payload: string }).payload, 'base64url').toString('utf8');
  } catch {
    return '';
  }
}
