/**
 * A git remote over HTTP behind basic auth, as GitLab or Gitea serve one: `git http-backend` (git's
 * own smart-HTTP CGI) on a free loopback port, answering 401 to any request without the one
 * username and password. `onRequest` runs as each request arrives (while the client's git is
 * talking to it: the tests read the process list there).
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { basename, dirname } from 'node:path';

export class GitHttpServer {
  readonly requests: { authorized: boolean }[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly repoName: string,
  ) {}

  /** Serves the bare repository `bare` to `username:password` only. */
  static async start(
    bare: string,
    username: string,
    password: string,
    onRequest: () => void = () => undefined,
  ): Promise<GitHttpServer> {
    const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    let self: GitHttpServer | undefined;
    const server = createServer((request, response) => {
      onRequest();
      const authorized = request.headers.authorization === expected;
      self?.requests.push({ authorized });
      if (!authorized) {
        request.resume();
        response.writeHead(401, { 'www-authenticate': 'Basic realm="berth-test"' }).end();
        return;
      }
      const url = new URL(request.url ?? '/', 'http://localhost');
      const header = (name: string) => String(request.headers[name] ?? '');
      const cgi = spawn('git', ['http-backend'], {
        env: {
          ...process.env,
          GIT_PROJECT_ROOT: dirname(bare),
          GIT_HTTP_EXPORT_ALL: '1',
          PATH_INFO: decodeURIComponent(url.pathname),
          QUERY_STRING: url.search.slice(1),
          REQUEST_METHOD: request.method ?? 'GET',
          CONTENT_TYPE: header('content-type'),
          ...(request.headers['content-length'] !== undefined ? { CONTENT_LENGTH: header('content-length') } : {}),
          HTTP_CONTENT_ENCODING: header('content-encoding'),
          GIT_PROTOCOL: header('git-protocol'),
          REMOTE_USER: username,
          REMOTE_ADDR: '127.0.0.1',
        },
        stdio: ['pipe', 'pipe', 'ignore'],
      });
      request.pipe(cgi.stdin);
      const chunks: Buffer[] = [];
      cgi.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
      cgi.on('close', () => {
        const output = Buffer.concat(chunks);
        const end = output.indexOf('\r\n\r\n');
        const split = end >= 0 ? end + 4 : output.indexOf('\n\n') + 2;
        const headers: Record<string, string> = {};
        let status = 200;
        for (const line of output.subarray(0, split).toString('latin1').split(/\r?\n/).filter(Boolean)) {
          const colon = line.indexOf(':');
          const [name, value] = [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
          if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
          else headers[name] = value;
        }
        response.writeHead(status, headers).end(output.subarray(split));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new GitHttpServer(server, (server.address() as { port: number }).port, basename(bare));
    return self;
  }

  /** The repository's URL with `userinfo` (`user:password`) in it. */
  url(userinfo: string): string {
    return `http://${userinfo}@127.0.0.1:${this.port}/${this.repoName}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
