import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSecretFile, SecretFileError } from '../../../src/util/secret-file.js';

/** Rejects with a SecretFileError whose one-line message matches `pattern`. */
async function refused(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.ok(error instanceof SecretFileError, `a SecretFileError, not ${error.name}: ${error.message}`);
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
}

describe('secret files (readSecretFile): refused as ssh refuses a private key others can reach', () => {
  let dir: string;
  const uid = process.geteuid?.() ?? 0;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-secret-file-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads a file 0600 of berth's user (or 0400)", async () => {
    const file = join(dir, 'key');
    await writeFile(file, 'AGE-SECRET-KEY-1XYZ\n', { mode: 0o600 });
    assert.equal(await readSecretFile(file), 'AGE-SECRET-KEY-1XYZ\n');
    await chmod(file, 0o400);
    assert.equal(await readSecretFile(file), 'AGE-SECRET-KEY-1XYZ\n');
  });

  it('refuses a file group or others may read or write, naming the file, its mode and chmod 600', async () => {
    const file = join(dir, 'key');
    await writeFile(file, 'secret');
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602, 0o610]) {
      await chmod(file, mode);
      await refused(
        readSecretFile(file),
        new RegExp(
          `^${file}: has mode 0${mode.toString(8)}: group or other users can (read|change) it, and it holds a secret \\(chmod 600 ${file}\\)$`,
        ),
      );
    }
  });

  it('refuses a file owned by another user, though its mode is 0600', async () => {
    const file = join(dir, 'key');
    await writeFile(file, 'secret', { mode: 0o600 });
    if (uid === 0) {
      await chown(file, 65534, 65534);
      await refused(
        readSecretFile(file),
        /is owned by uid 65534, neither root nor berth's user \(uid 0\); it holds a secret: chown it to berth's user and chmod 600 /,
      );
      await chown(file, 0, 0);
      assert.equal(await readSecretFile(file, { uid: 65534 }), 'secret', "root's own file is fine for any berth");
    } else {
      await refused(
        readSecretFile(file, { uid: uid + 1 }),
        new RegExp(`is owned by uid ${uid}, neither root nor berth's user`),
      );
    }
  });

  it("follows no link planted in a directory others may write (/tmp); follows the operator's own", async () => {
    const file = join(dir, 'key');
    await writeFile(file, 'secret', { mode: 0o600 });
    const planted = join(tmpdir(), `berth-planted-${process.pid}`);
    await symlink(file, planted);
    try {
      await refused(
        readSecretFile(planted),
        new RegExp(`is a symbolic link in ${tmpdir()}, a directory other users can write`),
      );
    } finally {
      await rm(planted, { force: true });
    }
    const own = join(dir, 'current');
    await symlink('key', own);
    assert.equal(await readSecretFile(own), 'secret', "a link in a directory only root writes is the operator's");
  });

  it('refuses a directory, a FIFO (without waiting on it), a missing file and more than 64 KiB', async () => {
    await refused(readSecretFile(dir), /is not a regular file/);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    await refused(readSecretFile(fifo), /is not a regular file/);
    await refused(readSecretFile(join(dir, 'missing')), /no such file$/);
    const big = join(dir, 'big');
    await writeFile(big, 'x'.repeat(64 * 1024 + 1), { mode: 0o600 });
    await refused(readSecretFile(big), /65537 bytes, over the 64 KiB limit/);
  });
});
