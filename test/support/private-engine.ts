/**
 * A private Docker engine for tests that stop and restart it (the shared engine serves every other
 * test): Debian's dockerd on its own socket, data root, exec root (with its own containerd) and
 * bridge, started with --iptables=false like the shared one. Ports publish on 127.0.0.1 through
 * docker-proxy as usual. `cli(args)` runs the docker CLI against it; `loadFrom(ref)` copies an
 * image over from the shared engine.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './berth-process.js';
import { stopChild } from './child.js';

export class PrivateEngine {
  private child: ChildProcess | undefined;
  log = '';

  private constructor(
    readonly root: string,
    readonly bridge: string,
  ) {}

  static async start(): Promise<PrivateEngine> {
    const root = await mkdtemp(join(tmpdir(), 'berth-engine-'));
    const engine = new PrivateEngine(root, `berthbr${randomInt(1000, 9999)}`);
    const subnet = `172.31.${randomInt(100, 250)}`;
    await run('ip', ['link', 'add', engine.bridge, 'type', 'bridge']);
    await run('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', engine.bridge]);
    await run('ip', ['link', 'set', engine.bridge, 'up']);
    await engine.resume();
    return engine;
  }

  /** `DOCKER_HOST` for clients of this engine. */
  get host(): string {
    return `unix://${join(this.root, 'docker.sock')}`;
  }

  cli(args: string[]): Promise<string> {
    return run('docker', ['-H', this.host, ...args]);
  }

  /** Copies `ref` from the shared engine into this one. */
  async loadFrom(ref: string): Promise<void> {
    await run('sh', ['-c', `docker save "$1" | docker -H "$2" load -q`, 'sh', ref, this.host]);
  }

  /** Starts dockerd (again, on the same data) and waits until it answers. */
  async resume(): Promise<void> {
    const r = this.root;
    const child = spawn(
      'dockerd',
      [
        '--iptables=false',
        '--ip-masq=false',
        '--bridge',
        this.bridge,
        '-H',
        this.host,
        '--data-root',
        join(r, 'data'),
        '--exec-root',
        join(r, 'exec'),
        '--pidfile',
        join(r, 'docker.pid'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.log = (this.log + chunk).slice(-20_000)));
    this.child = child;
    const answers = async () => {
      if (child.exitCode !== null) throw new Error(`dockerd exited with ${child.exitCode}: ${this.log.slice(-2_000)}`);
      return this.cli(['version', '--format', '{{.Server.Version}}']).then(() => true);
    };
    await eventually(answers, 60_000, `the private dockerd on ${this.host}`, 200);
  }

  /** Stops dockerd the way an engine restart does (SIGTERM: containers stop, restart policies apply on resume). */
  async pause(): Promise<void> {
    await stopChild(this.child, 'SIGTERM');
  }

  /** Stops dockerd in its tracks (SIGSTOP): its sockets stay open and nothing answers, like a hung engine. */
  freeze(): void {
    if (this.child?.pid !== undefined && this.child.exitCode === null) process.kill(this.child.pid, 'SIGSTOP');
  }

  /** Lets a frozen dockerd go on (SIGCONT); harmless when it is not frozen. */
  thaw(): void {
    if (this.child?.pid !== undefined && this.child.exitCode === null) process.kill(this.child.pid, 'SIGCONT');
  }

  async stop(): Promise<void> {
    this.thaw();
    if (this.child?.exitCode === null && this.child.signalCode === null) {
      const ids = (await this.cli(['ps', '-aq']).catch(() => '')).split('\n').filter(Boolean);
      if (ids.length > 0) await this.cli(['rm', '-f', ...ids]).catch(() => undefined);
    }
    await this.pause();
    await run('ip', ['link', 'del', this.bridge]).catch(() => undefined);
    await rm(this.root, { recursive: true, force: true }).catch(() => undefined);
  }
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}
