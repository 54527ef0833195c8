/**
 * The git remote is not trusted by its keys alone: under --git-verify-signatures a head is applied
 * only when signed by a key of the explicit trust list (GPG fingerprints, an SSH allowed-signers
 * file), not by any key in the keyring (`git verify-commit` accepts an imported key of unknown
 * trust: shown here). A branch set back to a commit that does not descend from the applied one is
 * an event; a `--git-path` that a commit turns into a link out of the checkout is refused; a local
 * process whose pid reuses a stale lock's is never signalled. All for real: a repository on
 * loopback (file://), gpg and ssh-keygen keys, berth's own processes.
 */
import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, runCli } from '../../support/berth-process.js';
import { buildTestImage } from '../../support/docker.js';
import { git, GitRepo, signingKey } from '../../support/git-server.js';
import { Scenario } from '../../support/scenario.js';

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A new GPG signing key in `home`; resolves to its fingerprint. */
async function gpgKey(home: string, name: string): Promise<string> {
  const made = await run(
    'gpg',
    ['--batch', '--passphrase', '', '--quick-gen-key', `${name} <${name}@example.test>`, 'ed25519', 'sign', 'never'],
    { GNUPGHOME: home },
  );
  assert.equal(made.code, 0, made.stderr);
  const listed = await run('gpg', ['--with-colons', '--list-keys', `${name}@example.test`], { GNUPGHOME: home });
  return /^fpr:+([0-9A-F]+):/m.exec(listed.stdout)![1]!;
}

describe('trust: the git remote and local processes (real git, gpg, ssh-keygen)', function () {
  this.timeout(120_000);
  let world: Scenario;
  let repo: GitRepo;
  let scratch: string;
  let signHome: string;
  let verifyHome: string;
  let trusted: string;
  let untrusted: string;
  let ssh: { key: string; allowedSigners: string };
  let otherSsh: { key: string; allowedSigners: string };

  before(async () => {
    world = await Scenario.create();
    repo = await GitRepo.create();
    scratch = await mkdtemp(join(tmpdir(), 'berth-git-trust-'));
    signHome = join(scratch, 'sign-gnupg');
    verifyHome = join(scratch, 'verify-gnupg');
    await mkdir(signHome, { mode: 0o700 });
    await mkdir(verifyHome, { mode: 0o700 });
    trusted = await gpgKey(signHome, 'trusted');
    untrusted = await gpgKey(signHome, 'stranger');
    // berth's keyring holds both public keys, of unknown trust: an imported key is not a trusted one.
    const exported = await run('gpg', ['--armor', '--export', trusted, untrusted], { GNUPGHOME: signHome });
    await writeFile(join(scratch, 'keys.asc'), exported.stdout);
    assert.equal(
      (await run('gpg', ['--batch', '--import', join(scratch, 'keys.asc')], { GNUPGHOME: verifyHome })).code,
      0,
    );
    await mkdir(join(scratch, 'ssh-a'));
    await mkdir(join(scratch, 'ssh-b'));
    ssh = await signingKey(join(scratch, 'ssh-a'));
    otherSsh = await signingKey(join(scratch, 'ssh-b'));
    await chmod(ssh.allowedSigners, 0o644);
    for (const tag of ['v1', 'v2', 'v3']) await buildTestImage(`${world.namespace}/web`, tag, { body: `web ${tag}` });
  });
  afterEach(async () => {
    await world.killProcesses();
  });
  after(async () => {
    await world.cleanup();
    await repo.remove();
    for (const home of [signHome, verifyHome]) await run('gpgconf', ['--kill', 'all'], { GNUPGHOME: home });
    await rm(scratch, { recursive: true, force: true });
  });

  const manifest = (tag: string) => ({ 'apps/web.yaml': world.manifest('web', { tag, checks: { wait: 0 } }) });
  const status = async () => (await world.status()).find((a) => a.app === 'web');
  const serving = (tag: string) =>
    eventually(
      async () => {
        const s = await status();
        return s?.running.tag === tag && s.phase === 'Running' ? s : undefined;
      },
      30_000,
      `web ${tag} Running`,
    );
  const refusal = (pattern: RegExp) =>
    eventually(
      async () => (await world.cli(['status'])).stdout.match(/^source: .*not applied.*$/m)?.[0].match(pattern)?.[0],
      20_000,
      `refusal ${pattern}`,
    );
  /** Commits `files` signed with GPG key `fingerprint` and pushes; returns the sha. */
  const gpgCommit = async (files: Record<string, string>, subject: string, fingerprint: string) => {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(repo.work, path, '..'), { recursive: true });
      await writeFile(join(repo.work, path), content);
    }
    await git(['add', '-A'], repo.work);
    await git(
      ['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${fingerprint}`, 'commit', '-q', '-S', '-m', subject],
      repo.work,
      { GNUPGHOME: signHome },
    );
    await repo.push();
    return (await git(['rev-parse', 'HEAD'], repo.work)).trim();
  };

  it('refuses a bare --git-verify-signatures at start, naming the trust-list flags', async () => {
    const bare = await runCli(['run', '--once', '--git', repo.fileUrl, '--git-verify-signatures', ...world.flags()]);
    assert.equal(bare.code, 1);
    assert.match(
      bare.stderr,
      /^berth: --git-verify-signatures needs a trust list: --git-allowed-signers FILE \(SSH keys, the allowed-signers format\) or --git-trusted-key FINGERPRINT \(GPG keys, repeatable\)/,
    );
    const writable = join(scratch, 'writable_signers');
    await writeFile(writable, await readFile(ssh.allowedSigners));
    await chmod(writable, 0o666);
    const open = await runCli([
      'run',
      '--once',
      '--git',
      repo.fileUrl,
      '--git-verify-signatures',
      '--git-allowed-signers',
      writable,
      ...world.flags(),
    ]);
    assert.equal(open.code, 1);
    assert.match(open.stderr, /other users may write it, and it decides what berth runs/);
  });

  it('applies only heads signed by a listed key: a keyring key of unknown trust and an unlisted SSH key are refused, what runs untouched', async () => {
    const first = await gpgCommit(manifest('v1'), 'web at v1, signed by the trusted key', trusted);
    const berth = world.start(
      [
        '--git',
        repo.fileUrl,
        '--git-path',
        'apps',
        '--git-interval',
        '1',
        '--git-verify-signatures',
        '--git-trusted-key',
        trusted,
        '--git-allowed-signers',
        ssh.allowedSigners,
      ],
      { GNUPGHOME: verifyHome },
    );
    await serving('v1');

    const strangers = await gpgCommit(
      manifest('v2'),
      'web at v2, signed by a key berth only has in its keyring',
      untrusted,
    );
    const verifyCommit = await run('git', ['--git-dir', repo.bare, 'verify-commit', strangers], {
      GNUPGHOME: verifyHome,
    });
    assert.equal(verifyCommit.code, 0, 'git verify-commit alone accepts it: the hole a trust list closes');
    assert.match(
      await refusal(/.*/),
      new RegExp(
        `commit ${strangers.slice(0, 7)} is not applied: it is signed by GPG key ${untrusted}, which is not a --git-trusted-key`,
      ),
    );
    assert.equal((await status())?.running.tag, 'v1');

    const sshStranger = await repo.commit(manifest('v2'), 'web at v2, signed by an SSH key not in the list', {
      sign: { key: otherSsh.key },
    });
    assert.match(
      await refusal(new RegExp(`${sshStranger.trim().slice(0, 7)}.*`)),
      /is not applied: it is signed by SSH key SHA256:\S+, which is not in --git-allowed-signers/,
    );
    assert.equal((await status())?.running.tag, 'v1');

    await repo.commit(manifest('v2'), 'web at v2, signed by the listed SSH key', { sign: { key: ssh.key } });
    await serving('v2');

    // The branch set back to the first commit (signed, but no descendant of what runs): applied, and said as an event.
    await repo.forcePush(first);
    await serving('v1');
    const events = JSON.parse((await world.cli(['events', '--json'])).stdout) as {
      type: string;
      message: string;
      details: Record<string, unknown>;
    }[];
    const diverged = events.find((e) => e.type === 'source.diverged');
    assert.ok(diverged, 'a source.diverged event');
    assert.equal(diverged.details.to, first);
    assert.match(
      diverged.message,
      new RegExp(`@main moved from [0-9a-f]{7} to ${first.slice(0, 7)}, which does not descend from it`),
    );
    assert.equal(await berth.stop(), 0);
  });

  it('refuses a commit that makes --git-path a link out of the checkout', async () => {
    await gpgCommit(manifest('v3'), 'web at v3', trusted);
    const berth = world.start(
      [
        '--git',
        repo.fileUrl,
        '--git-path',
        'apps',
        '--git-interval',
        '1',
        '--git-verify-signatures',
        '--git-trusted-key',
        trusted,
      ],
      { GNUPGHOME: verifyHome },
    );
    await serving('v3');
    await git(['rm', '-q', '-r', 'apps'], repo.work);
    await symlink('../../../../../../../../../etc', join(repo.work, 'apps'));
    await git(['add', '-A'], repo.work);
    await git(['-c', `user.signingkey=${trusted}`, 'commit', '-q', '-S', '-m', 'apps now leads to /etc'], repo.work, {
      GNUPGHOME: signHome,
    });
    await repo.push();
    assert.match(
      await refusal(/.*/),
      /is not applied: its apps \(--git-path\) leads out of the checkout through a symbolic link/,
    );
    assert.equal((await status())?.running.tag, 'v3', 'what runs is untouched');
    assert.equal(await berth.stop(), 0);
  });

  it('bounds what a remote can write: a pack over twice --git-max-tree-mib and a tree over it are refused, what runs untouched', async () => {
    const hostile = await GitRepo.create();
    try {
      await hostile.commit(manifest('v1'), 'web at v1');
      const berth = world.start([
        '--git',
        hostile.fileUrl,
        '--git-path',
        'apps',
        '--git-interval',
        '1',
        '--git-max-tree-mib',
        '1',
      ]);
      await serving('v1');
      const sourceLine = (pattern: RegExp) =>
        eventually(
          async () => (await world.cli(['status'])).stdout.match(/^source: .*$/m)?.[0].match(pattern)?.[0],
          20_000,
          `the source to say ${pattern}`,
        );

      // 3 MiB of random bytes (as base64 text: it hardly compresses): the fetched pack passes 2 MiB.
      await hostile.commit(
        { ...manifest('v2'), 'blob/noise.txt': randomBytes(3 * 1024 * 1024).toString('base64') },
        'web at v2, with 4 MiB of noise',
      );
      assert.ok(await sourceLine(/the remote sent more than 2 MiB in one file \(berth's bound for a fetch\): refused/));
      // 1.5 MiB of one letter packs into a few KiB, and would check out as 1.5 MiB.
      await hostile.commit(
        { 'blob/noise.txt': null, 'blob/bomb.txt': 'a'.repeat(1.5 * 1024 * 1024) },
        'a small pack that inflates',
      );
      assert.ok(await sourceLine(/is not applied: its tree holds 1\.5 MiB, over --git-max-tree-mib \(1 MiB\)/));
      assert.equal((await status())?.running.tag, 'v1', 'what runs is untouched');
      const checkouts = join(world.stateDir, world.namespace, 'git', 'trees');
      const trees = await readdir(checkouts);
      assert.equal(trees.filter((t) => !t.includes('.')).length, 1, `only the applied tree is checked out: ${trees}`);

      await hostile.commit({ 'blob/bomb.txt': null }, 'the bomb removed');
      await serving('v2');
      assert.equal(await berth.stop(), 0);
    } finally {
      await hostile.remove();
    }
  });

  it('never signals a process whose pid a stale lock names: a reused pid is not berth', async () => {
    const bystander = spawn('sleep', ['300'], { stdio: 'ignore' });
    try {
      const lock = join(world.stateDir, world.namespace, 'lock');
      for (const text of [`${bystander.pid} 1\n`, `${bystander.pid}\n`]) {
        await writeFile(lock, text);
        const sync = await world.cli(['sync']);
        assert.equal(sync.code, 1);
        assert.match(sync.stderr, /no berth runs for namespace/);
        assert.equal(bystander.exitCode, null, 'the bystander lives');
        assert.equal(bystander.signalCode, null);
      }
      await rm(lock);
    } finally {
      bystander.kill('SIGKILL');
    }
  });
});
