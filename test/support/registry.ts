/**
 * A private Docker registry for tests that stop it (Debian's `docker-registry`, not the shared one
 * `.ci/setup` runs on 127.0.0.1:5000): its own storage under a temp dir, on a free 127.0.0.1 port,
 * which the engine treats as an insecure (plain HTTP) registry like every loopback address.
 * `push(source, repository, tag)` pushes a local image there and removes the local push tag.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './berth-process.js';
import { dockerCli } from './docker.js';
import { freePort } from './nginx.js';
import { stopChild } from './child.js';

/** The registry `.ci/setup` starts for the whole run. */
export const SHARED_REGISTRY = '127.0.0.1:5000';

export class PrivateRegistry {
  private constructor(
    readonly address: string,
    private readonly root: string,
    private child: ChildProcess | undefined,
  ) {}

  /**
   * With `credentials`, the registry demands them (basic auth, a bcrypt htpasswd made by Debian's
   * `htpasswd -B`). With `notify`, the registry's own notifications (its `notifications.endpoints`
   * config) go to `notify.url` with `Authorization: notify.authorization`.
   */
  static async start(
    credentials?: { user: string; password: string },
    options: { notify?: { url: string; authorization: string } } = {},
  ): Promise<PrivateRegistry> {
    const root = await mkdtemp(join(tmpdir(), 'berth-registry-'));
    const address = `127.0.0.1:${await freePort()}`;
    const auth = credentials
      ? ['auth:', '  htpasswd:', '    realm: berth-test', `    path: ${join(root, 'htpasswd')}`]
      : [];
    if (credentials) await writeFile(join(root, 'htpasswd'), await htpasswd(credentials.user, credentials.password));
    await writeFile(
      join(root, 'config.yml'),
      [
        'version: 0.1',
        'log:',
        '  level: error',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${join(root, 'data')}`,
        'http:',
        `  addr: ${address}`,
        ...auth,
        ...(options.notify
          ? [
              'notifications:',
              '  endpoints:',
              '    - name: berth',
              `      url: ${options.notify.url}`,
              '      headers:',
              `        Authorization: [${JSON.stringify(options.notify.authorization)}]`,
              '      timeout: 2s',
              '      threshold: 10',
              '      backoff: 1s',
            ]
          : []),
        '',
      ].join('\n'),
    );
    const registry = new PrivateRegistry(address, root, undefined);
    await registry.resume();
    return registry;
  }

  /** Starts (again) serving what was pushed before. */
  async resume(): Promise<void> {
    const child = spawn('docker-registry', ['serve', join(this.root, 'config.yml')], { stdio: 'ignore' });
    this.child = child;
    await eventually(
      async () => child.exitCode === null && (await answers(this.address)),
      10_000,
      `docker-registry on ${this.address}`,
      50,
    );
  }

  /** Stops serving (the data stays for resume). */
  async pause(): Promise<void> {
    await stopChild(this.child, 'SIGKILL');
  }

  async stop(): Promise<void> {
    await this.pause();
    await rm(this.root, { recursive: true, force: true });
  }
}

function htpasswd(user: string, password: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('htpasswd', ['-Bbn', user, password], (error, stdout, stderr) =>
      error ? reject(new Error(`htpasswd: ${stderr || error.message}`)) : resolve(stdout),
    ),
  );
}

/** Pushes `source` as `<registry>/<repository>:<tag>`, then drops that local tag so that berth has to pull it. */
export async function pushTo(registry: string, source: string, repository: string, tag: string): Promise<string> {
  const ref = `${registry}/${repository}:${tag}`;
  await dockerCli(['tag', source, ref]);
  const output = await dockerCli(['push', ref]);
  await dockerCli(['rmi', ref]);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(output)?.[1];
  if (!digest) throw new Error(`docker push ${ref} printed no digest: ${output}`);
  return digest;
}

function answers(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const req = request({ host, port: Number(port), path: '/v2/', timeout: 1_000, agent: false }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
