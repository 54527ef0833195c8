/**
 * A unix socket in front of the real engine's that passes every byte through and records the
 * request line of each HTTP request a client makes on it (`GET /v1.47/containers/json?...`), so a
 * test can say exactly which engine calls berth made while it did something. Give berth
 * `DOCKER_HOST=<host>`.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

const REQUEST_LINE = /(?:^|\r\n)(GET|HEAD|POST|PUT|DELETE|PATCH) (\S+) HTTP\/1\.[01]\r\n/g;

export class CountingEngine {
  /** `METHOD PATH`, in the order they were sent. */
  readonly requests: string[] = [];
  private readonly sockets = new Set<Socket>();
  private lastAt = Date.now();

  private constructor(
    private readonly server: Server,
    readonly socketPath: string,
  ) {}

  /** Listens on `<dir>/engine.sock`, forwarding to `upstream` (default: the engine DOCKER_HOST names, else /var/run/docker.sock). */
  static async start(
    dir: string,
    upstream = (process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock').replace(/^unix:\/\//, ''),
  ): Promise<CountingEngine> {
    const socketPath = join(dir, 'engine.sock');
    let engine: CountingEngine | undefined;
    const server = createServer((client) => {
      const upstreamSocket = createConnection(upstream);
      engine!.sockets.add(client).add(upstreamSocket);
      let pending = '';
      client.on('data', (chunk: Buffer) => {
        pending += chunk.toString('latin1');
        let end = 0;
        for (const match of pending.matchAll(REQUEST_LINE)) {
          engine!.requests.push(`${match[1]} ${match[2]}`);
          engine!.lastAt = Date.now();
          end = (match.index ?? 0) + match[0].length;
        }
        // Keep a tail in case a request line is split across chunks; never one already counted.
        pending = pending.slice(end).slice(-1024);
      });
      client.pipe(upstreamSocket).pipe(client);
      const close = () => {
        client.destroy();
        upstreamSocket.destroy();
        engine!.sockets.delete(client);
        engine!.sockets.delete(upstreamSocket);
      };
      client.on('error', close).on('close', close);
      upstreamSocket.on('error', close).on('close', close);
    });
    engine = new CountingEngine(server, socketPath);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, resolve);
    });
    return engine;
  }

  get host(): string {
    return `unix://${this.socketPath}`;
  }

  /** Resolves once no request has been made for `quietMs` (berth has settled); rejects after `timeoutMs`. */
  async quiet(quietMs: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() - this.lastAt < quietMs) {
      if (Date.now() > deadline)
        throw new Error(
          `the engine was never quiet for ${quietMs} ms; last requests:\n${this.requests.slice(-10).join('\n')}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
