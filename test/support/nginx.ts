/**
 * A private nginx for tests and benchmarks (Debian's `nginx`, never the system instance): its own
 * prefix under a temp dir, a default server on a free 127.0.0.1 port answering 404, and
 * `include <confDir>/*.conf` for the server blocks berth writes. `berthFlags()` gives the proxy
 * flags that point berth at it; `get(host, path)` sends a request through it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class PrivateNginx {
  private constructor(
    readonly prefix: string,
    readonly confDir: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  /**
   * With `tlsPort`, nginx also holds that port from the start (a default TLS server answering 404
   * with a throwaway self-signed certificate), so no other process can take it before berth's
   * server blocks listen there.
   */
  static async start(options: { tlsPort?: number } = {}, attempt = 1): Promise<PrivateNginx> {
    const prefix = await mkdtemp(join(tmpdir(), 'berth-nginx-'));
    // Workers run as nobody: they must reach the ACME challenge files berth writes under confDir.
    await chmod(prefix, 0o755);
    const confDir = join(prefix, 'sites');
    await mkdir(confDir);
    await mkdir(join(prefix, 'logs'));
    const port = await freePort();
    await writeFile(
      join(prefix, 'nginx.conf'),
      [
        'daemon off;',
        'worker_processes 1;',
        `pid ${join(prefix, 'nginx.pid')};`,
        `error_log ${join(prefix, 'logs', 'error.log')} warn;`,
        'events { worker_connections 1024; }',
        'http {',
        '  access_log off;',
        `  client_body_temp_path ${join(prefix, 'client_body')};`,
        `  proxy_temp_path ${join(prefix, 'proxy')};`,
        `  fastcgi_temp_path ${join(prefix, 'fastcgi')};`,
        `  uwsgi_temp_path ${join(prefix, 'uwsgi')};`,
        `  scgi_temp_path ${join(prefix, 'scgi')};`,
        `  server { listen 127.0.0.1:${port} default_server; return 404; }`,
        ...(options.tlsPort !== undefined
          ? [
              `  server { listen 127.0.0.1:${options.tlsPort} ssl default_server; ssl_certificate ${join(prefix, 'default.crt')}; ssl_certificate_key ${join(prefix, 'default.key')}; return 404; }`,
            ]
          : []),
        `  include ${confDir}/*.conf;`,
        '}',
        '',
      ].join('\n'),
    );
    if (options.tlsPort !== undefined) {
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
            join(prefix, 'default.key'),
            '-out',
            join(prefix, 'default.crt'),
            '-days',
            '2',
            '-subj',
            '/CN=default.invalid',
          ],
          (error) => (error ? reject(error) : resolve()),
        ),
      );
    }
    const child = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const nginx = new PrivateNginx(prefix, confDir, port, child);
    // Ours, not whoever took the port between freePort and nginx's bind (tests run in parallel):
    // nginx writes its pid file only once it holds its ports, and this child must still run.
    const deadline = Date.now() + 10_000;
    const ownPid = async () =>
      Number((await readFile(join(prefix, 'nginx.pid'), 'utf8').catch(() => '')).trim()) === child.pid;
    while (!(await ownPid()) || (await nginx.get('nothing.test').catch(() => undefined)) === undefined) {
      if (child.exitCode !== null && attempt < 3) {
        await rm(prefix, { recursive: true, force: true });
        return PrivateNginx.start(options, attempt + 1);
      }
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`nginx did not start on 127.0.0.1:${port}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return nginx;
  }

  private command(extra: string): string {
    return `nginx -p ${this.prefix} -c ${join(this.prefix, 'nginx.conf')} ${extra}`;
  }

  /** Reloads this nginx (after a configuration written by hand). */
  async reload(): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      execFile('/bin/sh', ['-c', this.command('-s reload')], (error) => (error ? reject(error) : resolve())),
    );
  }

  /**
   * Resolves once one worker alone serves, with the newest configuration. After a reload the old
   * worker goes on accepting connections with the old configuration for a few milliseconds, so an
   * answer from the new one does not mean the next request gets the same.
   */
  async settled(timeoutMs = 10_000): Promise<void> {
    const master = this.child.pid;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const workers = (await readFile(`/proc/${master}/task/${master}/children`, 'utf8'))
        .trim()
        .split(/\s+/)
        .filter(Boolean);
      const titles = await Promise.all(workers.map((pid) => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')));
      if (workers.length === 1 && !titles.some((t) => t.includes('shutting down'))) return;
      if (Date.now() > deadline)
        throw new Error(`nginx still has ${workers.length} workers after ${timeoutMs} ms: ${titles.join('; ')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** berth's proxy flags for this instance. */
  berthFlags(): string[] {
    return [
      '--proxy',
      'nginx',
      '--nginx-conf-dir',
      this.confDir,
      '--proxy-listen',
      `127.0.0.1:${this.port}`,
      '--nginx-test',
      this.command('-t -q'),
      '--nginx-reload',
      this.command('-s reload'),
    ];
  }

  /** GET through nginx with the given Host header; resolves for any status. */
  get(host: string, path = '/', timeoutMs = 2_000): Promise<{ status: number; body: string }> {
    return getWithHost(this.port, host, path, timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGQUIT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
    await rm(this.prefix, { recursive: true, force: true });
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** GET 127.0.0.1:`port` `path` with the Host header `host`, on a connection of its own; resolves for any status. */
export function getWithHost(
  port: number,
  host: string,
  path = '/',
  timeoutMs = 2_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { host }, timeout: timeoutMs, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
