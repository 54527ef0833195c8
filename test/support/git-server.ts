/**
 * Real git servers on loopback for the git-source tests: a bare repository with a working clone
 * to commit and push from, served as `file://`, by `git daemon` on a free port, and over SSH by a
 * private `sshd` (Debian's openssh-server) with a host key and a deploy key made here.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stopChild } from './child.js';
import { freePort } from './nginx.js';

export function git(args: string[], cwd?: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      { ...(cwd ? { cwd } : {}), env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', ...env } },
      (error, stdout, stderr) =>
        error ? reject(new Error(`git ${args.join(' ')}: ${stderr.trim() || error.message}`)) : resolve(stdout.trim()),
    );
  });
}

/** A bare repository (`bare`) and a clone (`work`) that commits to its `main` branch. */
export class GitRepo {
  private constructor(
    readonly root: string,
    readonly bare: string,
    readonly work: string,
  ) {}

  static async create(): Promise<GitRepo> {
    const root = await mkdtemp(join(tmpdir(), 'berth-git-'));
    const bare = join(root, 'served', 'repo.git');
    const work = join(root, 'work');
    await mkdir(dirname(bare), { recursive: true });
    await git(['init', '-q', '--bare', '-b', 'main', bare]);
    await git(['init', '-q', '-b', 'main', work]);
    await git(['config', 'user.name', 'Test Author'], work);
    await git(['config', 'user.email', 'author@example.test'], work);
    await git(['remote', 'add', 'origin', bare], work);
    return new GitRepo(root, bare, work);
  }

  get fileUrl(): string {
    return `file://${this.bare}`;
  }

  /** Writes `files` (a null content deletes), commits them as `subject`, pushes; returns the sha. */
  async commit(
    files: Record<string, string | null>,
    subject: string,
    options: { sign?: { key: string }; push?: boolean } = {},
  ): Promise<string> {
    for (const [path, content] of Object.entries(files)) {
      const file = join(this.work, path);
      if (content === null) {
        await rm(file, { force: true });
      } else {
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, content);
      }
    }
    await git(['add', '-A'], this.work);
    const sign = options.sign
      ? ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${options.sign.key}`, 'commit', '-S']
      : ['commit'];
    await git([...sign, '-q', '--allow-empty', '-m', subject], this.work);
    if (options.push !== false) await this.push();
    return git(['rev-parse', 'HEAD'], this.work);
  }

  async push(): Promise<void> {
    await git(['push', '-q', 'origin', 'main'], this.work);
  }

  /** Moves `main` back to `sha` and force-pushes it. */
  async forcePush(sha: string): Promise<void> {
    await git(['reset', '-q', '--hard', sha], this.work);
    await git(['push', '-q', '--force', 'origin', 'main'], this.work);
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

/** `git daemon` exporting the repository's directory on a free loopback port. */
export class GitDaemon {
  private child: ChildProcess | undefined;
  private constructor(
    private readonly base: string,
    readonly port: number,
  ) {}

  static async start(repo: GitRepo): Promise<GitDaemon> {
    const daemon = new GitDaemon(dirname(repo.bare), await freePort());
    await daemon.resume();
    return daemon;
  }

  get url(): string {
    return `git://127.0.0.1:${this.port}/repo.git`;
  }

  async resume(): Promise<void> {
    this.child = spawn(
      'git',
      [
        'daemon',
        '--reuseaddr',
        '--export-all',
        `--base-path=${this.base}`,
        '--listen=127.0.0.1',
        `--port=${this.port}`,
        this.base,
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    while (
      (await git(['ls-remote', this.url]).then(
        () => true,
        () => false,
      )) === false
    ) {
      if (Date.now() > deadline || this.child.exitCode !== null)
        throw new Error(`git daemon did not start on port ${this.port}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 'SIGTERM');
    this.child = undefined;
  }
}

/** A private sshd on a loopback port that lets in one deploy key; `env` is what berth's git needs to use it. */
export class SshServer {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly madeRunDir: boolean,
  ) {}

  static async start(): Promise<SshServer> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-sshd-'));
    const port = await freePort();
    await keygen(join(dir, 'host_key'));
    await keygen(join(dir, 'deploy_key'));
    await execFileText('cp', [join(dir, 'deploy_key.pub'), join(dir, 'authorized_keys')]);
    const hostKey = (await execFileText('cat', [join(dir, 'host_key.pub')])).trim();
    await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
    await writeFile(
      join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_key')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'StrictModes no',
        'UsePAM no',
        '',
      ].join('\n'),
    );
    // sshd wants its privilege separation directory; made here only when missing, and removed again.
    const madeRunDir = await stat('/run/sshd').then(
      () => false,
      () => true,
    );
    if (madeRunDir) await mkdir('/run/sshd', { mode: 0o755 });
    const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: 'ignore' });
    const server = new SshServer(dir, port, child, madeRunDir);
    const deadline = Date.now() + 10_000;
    while (
      (await execFileText('ssh', [
        '-i',
        join(dir, 'deploy_key'),
        '-o',
        `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        '-p',
        String(port),
        'root@127.0.0.1',
        'true',
      ]).then(
        () => true,
        () => false,
      )) === false
    ) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`sshd did not start on 127.0.0.1:${port}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return server;
  }

  /** What berth's git uses: the deploy key and the host key the test made, nothing of the machine's own. */
  get env(): NodeJS.ProcessEnv {
    return {
      GIT_SSH_COMMAND: `ssh -i ${join(this.dir, 'deploy_key')} -o UserKnownHostsFile=${join(this.dir, 'known_hosts')} -o StrictHostKeyChecking=yes -o BatchMode=yes`,
    };
  }

  url(repo: GitRepo): string {
    return `ssh://root@127.0.0.1:${this.port}${repo.bare}`;
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 'SIGTERM');
    if (this.madeRunDir) await rmdir('/run/sshd').catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** An ed25519 key pair for SSH commit signing, and the allowed-signers file that trusts it. */
export async function signingKey(dir: string): Promise<{ key: string; allowedSigners: string }> {
  const key = join(dir, 'signing_key');
  await keygen(key);
  const allowedSigners = join(dir, 'allowed_signers');
  await writeFile(allowedSigners, `author@example.test ${(await execFileText('cat', [`${key}.pub`])).trim()}\n`);
  return { key, allowedSigners };
}

function keygen(file: string): Promise<string> {
  return execFileText('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'berth-test', '-f', file]);
}

function execFileText(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, (error, stdout, stderr) =>
      error ? reject(new Error(`${command}: ${stderr || error.message}`)) : resolve(stdout),
    ),
  );
}
