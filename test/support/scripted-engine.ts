/**
 * A scripted stand-in for the Docker engine, for what the real one cannot be made to do on cue
 * (report another API version, end its event stream, go away and come back). It listens on a
 * unix socket or on 127.0.0.1, answers GET /_ping (headers) and GET /version with `apiVersion`, GET /v<x>/containers/json
 * with `[]`, holds GET /v<x>/events open in `eventStreams` for the test to write to and end, and
 * records every request path in `paths`.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export class ScriptedEngine {
  readonly paths: string[] = [];
  readonly eventStreams: ServerResponse[] = [];
  /** While true, every new request is held unanswered (a hung engine); they are dropped on close. */
  hung = false;
  /** While false, GET /_ping answers without the Api-Version header, as some engines and proxies do. */
  pingSaysVersion = true;
  private readonly held: ServerResponse[] = [];
  private readonly server: Server;

  private constructor(public apiVersion: string) {
    this.server = createServer((req, res) => {
      const path = req.url ?? '';
      this.paths.push(path);
      if (this.hung) {
        this.held.push(res);
        return undefined;
      }
      if (path === '/_ping') {
        res.writeHead(200, {
          'Content-Type': 'text/plain',
          ...(this.pingSaysVersion ? { 'Api-Version': this.apiVersion, Server: 'Docker/scripted (linux)' } : {}),
        });
        return res.end('OK');
      }
      if (path === '/version') return json(res, 200, { Version: 'scripted', ApiVersion: this.apiVersion });
      if (/^\/v[\d.]+\/containers\/json/.test(path)) return json(res, 200, []);
      if (/^\/v[\d.]+\/events/.test(path)) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        this.eventStreams.push(res);
        return undefined;
      }
      return json(res, 404, { message: `no route ${path}` });
    });
  }

  static async listen(apiVersion: string, where: { socketPath: string } | { tcp: true }): Promise<ScriptedEngine> {
    const engine = new ScriptedEngine(apiVersion);
    await new Promise<void>((resolve, reject) => {
      engine.server.once('error', reject);
      if ('socketPath' in where) engine.server.listen(where.socketPath, resolve);
      else engine.server.listen(0, '127.0.0.1', resolve);
    });
    return engine;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const stream of [...this.eventStreams, ...this.held]) stream.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
