/**
 * A second Docker engine for a multi-node swarm on one machine, as docs/swarm-test-setup.md
 * describes: its own network namespace (a second dockerd in the host's namespace removes the main
 * engine's docker0), a veth pair to the host (10.203.N.1 host side, 10.203.N.2 inside), its own
 * data and exec roots, and socat forwarding 127.0.0.1:5000 inside the namespace to the host's
 * registry, so `127.0.0.1:5000/...` means one registry on every node. Traffic stays on loopback and
 * inside the namespace this helper creates. `stop()` undoes all of it, the mounts a killed engine
 * left under its roots included (deepest first). `range` picks another /16 than 10.203 (a file
 * with several nodes gives each its own `subnet` there).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from './berth-process.js';
import { stopChild } from './child.js';

const exec = promisify(execFile);

export class SwarmNode {
  private dockerd: ChildProcess | undefined;
  private readonly forwarders: ChildProcess[] = [];
  log = '';

  private constructor(
    readonly netns: string,
    readonly hostVeth: string,
    readonly subnet: number,
    readonly root: string,
    readonly range = '10.203',
  ) {}

  /** The host's address on the link to this node: what the manager advertises. */
  get hostAddress(): string {
    return `${this.range}.${this.subnet}.1`;
  }

  get address(): string {
    return `${this.range}.${this.subnet}.2`;
  }

  get host(): string {
    return `unix://${join(this.root, 'docker.sock')}`;
  }

  static async start(options: { range?: string; subnet?: number } = {}): Promise<SwarmNode> {
    const id = randomInt(1000, 9999);
    const node = new SwarmNode(
      `berthsw${id}`,
      `bsw${id}h`,
      options.subnet ?? randomInt(1, 250),
      await mkdtemp(join(tmpdir(), 'berth-node-')),
      options.range,
    );
    const inNs = (...args: string[]) => exec('ip', ['netns', 'exec', node.netns, ...args]);
    await exec('ip', ['netns', 'add', node.netns]);
    await exec('ip', ['link', 'add', node.hostVeth, 'type', 'veth', 'peer', 'name', `bsw${id}n`]);
    await exec('ip', ['link', 'set', `bsw${id}n`, 'netns', node.netns]);
    await exec('ip', ['addr', 'add', `${node.hostAddress}/30`, 'dev', node.hostVeth]);
    await exec('ip', ['link', 'set', node.hostVeth, 'up']);
    await inNs('ip', 'addr', 'add', `${node.address}/30`, 'dev', `bsw${id}n`);
    await inNs('ip', 'link', 'set', `bsw${id}n`, 'up');
    await inNs('ip', 'link', 'set', 'lo', 'up');
    await inNs('ip', 'route', 'add', 'default', 'via', node.hostAddress);
    node.forwardPort(5000);
    await node.resume();
    return node;
  }

  /** Starts the node's dockerd (again) and waits until it answers. */
  async resume(): Promise<void> {
    const r = this.root;
    const child = spawn(
      'nsenter',
      [
        `--net=/var/run/netns/${this.netns}`,
        'dockerd',
        '--iptables=false',
        '--data-root',
        join(r, 'data'),
        '--exec-root',
        join(r, 'exec'),
        '--pidfile',
        join(r, 'docker.pid'),
        '-H',
        this.host,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.log = (this.log + chunk).slice(-20_000)));
    this.dockerd = child;
    await eventually(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`the node's dockerd exited with ${child.exitCode}: ${this.log.slice(-2_000)}`);
        return this.cli(['version', '--format', '{{.Server.Version}}']).then(
          () => true,
          () => false,
        );
      },
      60_000,
      `the node's dockerd on ${this.host}`,
      250,
    );
  }

  /** Stops the node's engine as a lost node would go (its tasks stop with it). */
  async pause(): Promise<void> {
    await stopChild(this.dockerd, 'SIGTERM');
  }

  cli(args: string[]): Promise<string> {
    return exec('docker', ['-H', this.host, ...args]).then((r) => r.stdout);
  }

  async join(token: string, manager: string): Promise<void> {
    await this.cli(['swarm', 'join', '--token', token, '--advertise-addr', this.address, `${manager}:2377`]);
  }

  async stop(): Promise<void> {
    if (this.dockerd?.exitCode === null) {
      await this.cli(['swarm', 'leave', '--force']).catch(() => undefined);
      const ids = (await this.cli(['ps', '-aq']).catch(() => '')).split('\n').filter(Boolean);
      if (ids.length > 0) await this.cli(['rm', '-f', ...ids]).catch(() => undefined);
    }
    await this.pause();
    for (const forwarder of this.forwarders) forwarder.kill('SIGKILL');
    // A stopped or killed engine may leave mounts under its roots (netns files, the data root): deepest first.
    const mounts = (await readFile('/proc/mounts', 'utf8').catch(() => ''))
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '')
      .filter((mount) => mount.startsWith(`${this.root}/`))
      .sort()
      .reverse();
    for (const mount of mounts)
      await exec('umount', [mount]).catch(() => exec('umount', ['-l', mount]).catch(() => undefined));
    await exec('ip', ['link', 'del', this.hostVeth]).catch(() => undefined);
    await exec('ip', ['netns', 'del', this.netns]).catch(() => undefined);
    await rm(this.root, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Makes the host's 127.0.0.1:`port` (a registry) the node's 127.0.0.1:`port` too. */
  forwardPort(port: number): void {
    this.forward('socat', [`TCP-LISTEN:${port},bind=${this.hostAddress},fork,reuseaddr`, `TCP:127.0.0.1:${port}`]);
    this.forward('nsenter', [
      `--net=/var/run/netns/${this.netns}`,
      'socat',
      `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`,
      `TCP:${this.hostAddress}:${port}`,
    ]);
  }

  private forward(command: string, args: string[]): void {
    this.forwarders.push(spawn(command, args, { stdio: 'ignore' }));
  }
}
