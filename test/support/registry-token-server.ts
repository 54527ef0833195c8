/**
 * The Docker Registry token protocol on loopback, since Debian's docker-registry serves htpasswd
 * only: a token service and a registry front that demands its tokens.
 *
 * - The token service (`realm`, `GET /token?service=&scope=`) issues a fresh random token, JSON
 *   `{ token, access_token, expires_in }`, to a request with the one user and password as Basic
 *   credentials (or to anyone, with `anonymous`), else answers 401. Every request is counted in
 *   `tokenRequests` (with its scope and whether it was authorized).
 * - The registry front (`address`, `127.0.0.1:<port>`) answers any request without a token the
 *   service issued with `401` and `WWW-Authenticate: Bearer realm="<realm>",service="berth-test",
 *   scope="repository:<name>:pull"`. With a token it either serves `tags` itself
 *   (`GET /v2/<name>/tags/list`, one page) or, with `upstream` (a docker-registry's `host:port`, as
 *   PrivateRegistry.address gives), passes the request through to it, Host header and all, so that
 *   `docker push`/`pull` through the front work. Every request is counted in `registryRequests`.
 *
 * `stop()` closes both servers and their connections.
 */
import { randomBytes } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TokenServerOptions {
  user: string;
  password: string;
  /** Seconds, in the answer's `expires_in`; default 300. */
  expiresIn?: number;
  /** Issue tokens without credentials too. */
  anonymous?: boolean;
  /** Tags the front serves itself, by repository name (`team/web`). */
  tags?: Record<string, string[]>;
  /** A registry (`127.0.0.1:<port>`) the front passes authorized requests through to. */
  upstream?: string;
}

export class RegistryTokenServer {
  readonly tokenRequests: { scope: string | null; service: string | null; authorized: boolean }[] = [];
  readonly registryRequests: { method: string; path: string; authorization: string | undefined }[] = [];
  private readonly issued = new Set<string>();

  private constructor(
    private readonly options: TokenServerOptions,
    private tokenServer: Server | undefined = undefined,
    private frontServer: Server | undefined = undefined,
  ) {}

  static async start(options: TokenServerOptions): Promise<RegistryTokenServer> {
    const self = new RegistryTokenServer(options);
    self.tokenServer = await listen((req, res) => self.token(req, res));
    self.frontServer = await listen((req, res) => self.front(req, res));
    return self;
  }

  /** The token service's URL, as the front's challenge names it. */
  get realm(): string {
    return `http://127.0.0.1:${port(this.tokenServer)}/token`;
  }

  /** The registry front, `127.0.0.1:<port>`. */
  get address(): string {
    return `127.0.0.1:${port(this.frontServer)}`;
  }

  /** Tokens issued so far (to check that none leaks into a message). */
  get tokens(): string[] {
    return [...this.issued];
  }

  async stop(): Promise<void> {
    await Promise.all([close(this.tokenServer), close(this.frontServer)]);
  }

  private token(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const expected = `Basic ${Buffer.from(`${this.options.user}:${this.options.password}`).toString('base64')}`;
    const authorized = req.headers.authorization === expected;
    this.tokenRequests.push({
      scope: url.searchParams.get('scope'),
      service: url.searchParams.get('service'),
      authorized,
    });
    if (url.pathname !== '/token' || (!authorized && !this.options.anonymous)) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const token = randomBytes(24).toString('base64url');
    this.issued.add(token);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token, access_token: token, expires_in: this.options.expiresIn ?? 300 }));
  }

  private front(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '/';
    const authorization = req.headers.authorization;
    this.registryRequests.push({ method: req.method ?? 'GET', path, authorization });
    const bearer = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    if (bearer === undefined || !this.issued.has(bearer)) {
      req.resume();
      const name = /^\/v2\/(.+?)\/(?:tags|manifests|blobs)\//.exec(path)?.[1];
      const scope = name !== undefined ? `,scope="repository:${name}:pull"` : '';
      res
        .writeHead(401, {
          'content-type': 'application/json',
          'docker-distribution-api-version': 'registry/2.0',
          'www-authenticate': `Bearer realm="${this.realm}",service="berth-test"${scope}`,
        })
        .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    if (this.options.upstream !== undefined) {
      this.pass(req, res, this.options.upstream);
      return;
    }
    req.resume();
    const name = /^\/v2\/(.+)\/tags\/list(?:\?.*)?$/.exec(path)?.[1];
    const tags = name !== undefined ? this.options.tags?.[name] : undefined;
    if (name === undefined || tags === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NAME_UNKNOWN"}]}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name, tags }));
  }

  /** The request as it came (the front's token dropped: the upstream asks for none), and its answer as it comes. */
  private pass(req: IncomingMessage, res: ServerResponse, upstream: string): void {
    const [host, upstreamPort] = upstream.split(':');
    const { authorization: _dropped, ...headers } = req.headers;
    const forward = httpRequest(
      { host, port: Number(upstreamPort), method: req.method, path: req.url, headers, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(forward);
  }
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function port(server: Server | undefined): number {
  const address = server?.address();
  if (address === null || address === undefined || typeof address === 'string') throw new Error('not listening');
  return (address as AddressInfo).port;
}

function close(server: Server | undefined): Promise<void> {
  if (server === undefined) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
