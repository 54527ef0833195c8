/**
 * A counting proxy in front of the Docker engine's socket: berth talks to it through DOCKER_HOST
 * and every request is forwarded unchanged to the engine, then counted by method and path (ids,
 * names and the API version prefix folded: `POST /containers/{id}/start`). It measures the calls
 * berth makes from outside, without trusting berth's own account.
 */
import { createServer, request, type Server } from 'node:http';
import { rm } from 'node:fs/promises';

export class EngineProxy {
  private readonly counts = new Map<string, number>();
  /** When each request arrived (performance.now() of this process), by endpoint. */
  private readonly arrivals = new Map<string, number[]>();
  private constructor(
    readonly socketPath: string,
    private readonly server: Server,
  ) {}

  static async start(socketPath: string, engineSocket = '/var/run/docker.sock'): Promise<EngineProxy> {
    await rm(socketPath, { force: true });
    let proxy: EngineProxy | undefined;
    const server = createServer((req, res) => {
      proxy?.count(req.method ?? 'GET', req.url ?? '/');
      const upstream = request(
        { socketPath: engineSocket, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          // A stream (the event stream) answers its headers long before any body: pass them on now.
          res.flushHeaders();
          answer.pipe(res);
        },
      );
      upstream.on('error', (error) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(error.message);
      });
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    });
    proxy = new EngineProxy(socketPath, server);
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));
    return proxy;
  }

  /** `unix://` address for DOCKER_HOST. */
  get dockerHost(): string {
    return `unix://${this.socketPath}`;
  }

  /** Requests since `reset`, by endpoint, the event stream left out (one long-lived request). */
  snapshot(): Map<string, number> {
    return new Map(this.counts);
  }

  total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }

  /** The first `endpoint` request (as counted: `POST /containers/create`) that arrived at or after `since` (performance.now()). */
  firstAfter(endpoint: string, since: number): number | undefined {
    return this.arrivals.get(endpoint)?.find((at) => at >= since);
  }

  reset(): void {
    this.counts.clear();
    this.arrivals.clear();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.socketPath, { force: true });
  }

  private count(method: string, url: string): void {
    const key = `${method} ${endpointOf(url)}`;
    if (key === 'GET /events') return;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const arrivals = this.arrivals.get(key);
    if (arrivals) arrivals.push(performance.now());
    else this.arrivals.set(key, [performance.now()]);
  }
}

/** `/v1.43/containers/3f2a.../start?t=1` -> `/containers/{id}/start`; `/images/ns/web:v1/json` -> `/images/{name}/json`. */
export function endpointOf(url: string): string {
  const path = url.split('?')[0]!.replace(/^\/v[0-9.]+(?=\/)/, '');
  const [, kind, rest = ''] = /^\/(containers|images|distribution)(?:\/(.*))?$/.exec(path) ?? [];
  if (kind === undefined || rest === '' || ['json', 'create', 'load', 'prune', 'search'].includes(rest)) return path;
  if (kind === 'containers') {
    const [, op] = rest.split('/');
    return `/containers/{id}${op ? `/${op}` : ''}`;
  }
  const op = /\/(json|tag|push|history|get)$/.exec(rest)?.[1];
  return `/${kind}/{name}${op ? `/${op}` : ''}`;
}
