import { strict as assert } from 'node:assert';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secretsDirectory } from '../../../src/secrets/secrets-directory.js';
import {
  ensurePrivateDirectory,
  ensurePrivateDirectorySync,
  UnsafeDirectoryError,
} from '../../../src/util/private-dir.js';

/** Another local user's uid (nobody); these tests run as root, as berth does, so they can make what that user would. */
const OTHER = 65534;

const refusedWith = (path: string, reason: RegExp) => (error: unknown) =>
  error instanceof UnsafeDirectoryError && error.path === path && reason.test(error.reason);

describe('private directories (checked from / down, no link followed blindly)', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-private-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates what is missing 0700 and returns the path it checked', async () => {
    const dir = await ensurePrivateDirectory(join(root, 'a', 'b'), { create: true, secret: true });
    assert.equal(dir, join(root, 'a', 'b'));
    assert.equal((await lstat(dir)).mode & 0o777, 0o700);
    assert.equal((await lstat(join(root, 'a'))).mode & 0o777, 0o700);
  });

  it('refuses a directory another user owns, one others may write or (secret) enter, and a missing one unless asked to create it', async () => {
    await mkdir(join(root, 'theirs'));
    await chown(join(root, 'theirs'), OTHER, OTHER);
    await assert.rejects(
      ensurePrivateDirectory(join(root, 'theirs'), { create: true }),
      refusedWith(join(root, 'theirs'), /^is owned by uid 65534, not by berth's user/),
    );
    await assert.rejects(
      ensurePrivateDirectory(join(root, 'theirs', 'x'), { create: true }),
      refusedWith(join(root, 'theirs'), /neither root nor berth's user/),
    );
    await mkdir(join(root, 'open'), { mode: 0o777 });
    await chmod(join(root, 'open'), 0o777);
    await assert.rejects(
      ensurePrivateDirectory(join(root, 'open')),
      refusedWith(join(root, 'open'), /has mode 0777: other users can write it \(chmod go-w/),
    );
    await assert.rejects(
      ensurePrivateDirectory(join(root, 'open', 'x'), { create: true }),
      refusedWith(join(root, 'open'), /writable by other users and not sticky/),
    );
    await mkdir(join(root, 'readable'), { mode: 0o755 });
    await chmod(join(root, 'readable'), 0o755);
    await ensurePrivateDirectory(join(root, 'readable'));
    await assert.rejects(
      ensurePrivateDirectory(join(root, 'readable'), { secret: true }),
      refusedWith(join(root, 'readable'), /has mode 0755: other users can reach into it \(chmod 700/),
    );
    await assert.rejects(
      ensurePrivateDirectory(join(root, 'missing')),
      refusedWith(join(root, 'missing'), /^does not exist$/),
    );
  });

  it('refuses a link in a directory others can write (sticky or not), and follows one in a directory only root or berth writes', async () => {
    const sticky = join(root, 'shm');
    await mkdir(sticky);
    await chmod(sticky, 0o1777);
    await mkdir(join(root, 'target'), { mode: 0o700 });
    await symlink(join(root, 'target'), join(sticky, 'planted'));
    await assert.rejects(
      ensurePrivateDirectory(join(sticky, 'planted', 'web'), { create: true }),
      refusedWith(join(sticky, 'planted'), /is a symbolic link in .*shm, which other users can write/),
    );
    assert.equal(
      await lstat(join(root, 'target', 'web')).catch(() => undefined),
      undefined,
      'nothing was made through the link',
    );
    // The operator's own link (in a directory only root writes) is followed, and the real path returned.
    await symlink(join(root, 'target'), join(root, 'mine'));
    assert.equal(await ensurePrivateDirectory(join(root, 'mine'), { secret: true }), join(root, 'target'));
    // In a sticky directory, another user's entry is refused; berth's own is fine.
    await mkdir(join(sticky, 'squatted'));
    await chown(join(sticky, 'squatted'), OTHER, OTHER);
    await assert.rejects(
      ensurePrivateDirectory(join(sticky, 'squatted'), { create: true, secret: true }),
      refusedWith(join(sticky, 'squatted'), /owned by uid 65534/),
    );
    assert.equal(
      await ensurePrivateDirectory(join(sticky, 'ours'), { create: true, secret: true }),
      join(sticky, 'ours'),
    );
  });

  it('refuses a file where a directory should be', async () => {
    await writeFile(join(root, 'file'), 'x');
    await assert.rejects(
      ensurePrivateDirectory(join(root, 'file', 'x'), { create: true }),
      refusedWith(join(root, 'file'), /^is not a directory$/),
    );
  });

  it("checks the same, with the same errors, synchronously (the launcher's code cache)", async () => {
    const sticky = join(root, 'shm');
    await mkdir(sticky);
    await chmod(sticky, 0o1777);
    await mkdir(join(root, 'target'), { mode: 0o700 });
    await symlink(join(root, 'target'), join(sticky, 'planted'));
    await symlink(join(root, 'target'), join(root, 'mine'));
    await mkdir(join(root, 'open'));
    await chmod(join(root, 'open'), 0o777);
    await mkdir(join(root, 'theirs'));
    await chown(join(root, 'theirs'), OTHER, OTHER);
    await writeFile(join(root, 'file'), 'x');
    const cases: [string, { create?: boolean; secret?: boolean }][] = [
      [join(root, 'new', 'dir'), { create: true }],
      [join(root, 'mine', 'web'), { create: true, secret: true }],
      [join(sticky, 'planted', 'web'), { create: true }],
      [join(root, 'open'), {}],
      [join(root, 'open', 'x'), { create: true }],
      [join(root, 'theirs'), {}],
      [join(root, 'file', 'x'), { create: true }],
      [join(root, 'missing'), {}],
    ];
    const outcome = (run: () => string) => {
      try {
        return `ok ${run()}`;
      } catch (error) {
        return error instanceof UnsafeDirectoryError ? `refused ${error.message}` : `threw ${String(error)}`;
      }
    };
    for (const [dir, options] of cases) {
      const sync = outcome(() => ensurePrivateDirectorySync(dir, options));
      const promised = await ensurePrivateDirectory(dir, options).then(
        (real) => `ok ${real}`,
        (error: unknown) =>
          error instanceof UnsafeDirectoryError ? `refused ${error.message}` : `threw ${String(error)}`,
      );
      assert.equal(sync, promised, dir);
    }
    assert.equal(
      outcome(() => ensurePrivateDirectorySync(join(root, 'mine', 'web2'), { create: true })),
      `ok ${join(root, 'target', 'web2')}`,
    );
    assert.equal((await lstat(join(root, 'target', 'web2'))).mode & 0o777, 0o700);
    assert.equal(
      await lstat(join(root, 'target', 'web')).then(
        () => 'made',
        () => 'absent',
      ),
      'made',
      "made through the operator's own link",
    );
    assert.match(
      outcome(() => ensurePrivateDirectorySync(join(sticky, 'planted', 'web'), { create: true })),
      /^refused .*planted: is a symbolic link in .*shm, which other users can write$/,
    );
  });
});

describe('the secrets directory (a name berth chose and recorded, on tmpfs)', () => {
  let root: string;
  let shm: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-secrets-dir-'));
    // A world-writable, sticky tmpfs directory, as /dev/shm is; unique per test.
    shm = await mkdtemp(join('/dev/shm', 'berth-unit-'));
    await chmod(shm, 0o1777);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(shm, { recursive: true, force: true });
  });

  it('names a fresh directory, records it, makes nothing until a file is written, and picks another when the recorded one is taken', async () => {
    const first = await secretsDirectory({ namespace: 'ns', stateDir: root, allowOnDisk: false, parent: shm });
    assert.match(first, new RegExp(`^${shm}/berth-ns-[0-9a-f]{16}$`));
    assert.equal((await readFile(join(root, 'secrets-dir'), 'utf8')).trim(), first);
    assert.equal(await lstat(first).catch(() => undefined), undefined, 'nothing made yet');
    await mkdir(first, { mode: 0o700 });
    assert.equal(
      await secretsDirectory({ namespace: 'ns', stateDir: root, allowOnDisk: false, parent: shm }),
      first,
      'the recorded name is kept while it exists',
    );
    // Another user learned the name (from a container's mounts, say) and took it over.
    await chown(first, OTHER, OTHER);
    const replaced: string[] = [];
    const second = await secretsDirectory({
      namespace: 'ns',
      stateDir: root,
      allowOnDisk: false,
      parent: shm,
      onReplaced: (taken, reason) => replaced.push(`${taken}: ${reason}`),
    });
    assert.notEqual(second, first);
    assert.deepEqual(replaced, [`${first}: is owned by uid 65534, not by berth's user (uid 0)`]);
    assert.equal((await readFile(join(root, 'secrets-dir'), 'utf8')).trim(), second);
    // Gone, as after a reboot: its name may have been seen, so another is chosen rather than made again.
    const third = await secretsDirectory({ namespace: 'ns', stateDir: root, allowOnDisk: false, parent: shm });
    assert.notEqual(third, second);
    assert.equal((await readFile(join(root, 'secrets-dir'), 'utf8')).trim(), third);
  });

  it('trusts a record only in the form berth writes it', async () => {
    await writeFile(join(root, 'secrets-dir'), '/etc\n');
    const chosen = await secretsDirectory({ namespace: 'ns', stateDir: root, allowOnDisk: false, parent: shm });
    assert.ok(chosen.startsWith(`${shm}/berth-ns-`));
  });

  it('refuses a --secrets-dir that is not on a tmpfs unless told it may be', async () => {
    // The repository lies on a disk; /tmp may be a tmpfs on some hosts.
    const disk = await mkdtemp(join(process.cwd(), '.build', 'berth-disk-'));
    try {
      await assert.rejects(
        secretsDirectory({ namespace: 'ns', stateDir: root, allowOnDisk: false, explicit: disk }),
        refusedWith(join(disk, 'ns'), /is not on a tmpfs.*--allow-secrets-on-disk/),
      );
      assert.equal(
        await secretsDirectory({ namespace: 'ns', stateDir: root, allowOnDisk: true, explicit: disk }),
        join(disk, 'ns'),
      );
    } finally {
      await rm(disk, { recursive: true, force: true });
    }
  });
});
