import { strict as assert } from 'node:assert';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomically } from '../../../src/util/atomic-file.js';

/** The user `nobody` on Debian: another user than berth's (the tests run as root). */
const NOBODY = 65534;

describe('writeFileAtomically (whole or not at all, durable, never through a link)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-atomic-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replaces the content whole and leaves nothing else in the directory', async () => {
    const file = join(dir, 'state.json');
    await writeFile(file, 'a much longer old content than the new one\n');
    await writeFileAtomically(file, 'new\n', 0o600);
    assert.equal(await readFile(file, 'utf8'), 'new\n');
    assert.deepEqual(await readdir(dir), ['state.json']);
  });

  it('gives the file exactly the mode asked for, whatever the umask', async () => {
    const file = join(dir, 'block.conf');
    await writeFileAtomically(file, 'server {}\n', 0o666);
    assert.equal((await stat(file)).mode & 0o7777, 0o666);
    await writeFileAtomically(file, 'server {}\n', 0o444);
    assert.equal((await stat(file)).mode & 0o7777, 0o444);
  });

  it('keeps the mode of the file it replaces when none is given; a new file is 0600', async () => {
    const file = join(dir, 'web.yaml');
    await writeFile(file, 'tag: v1\n');
    await chmod(file, 0o640);
    await writeFileAtomically(file, 'tag: v2\n');
    assert.equal((await stat(file)).mode & 0o7777, 0o640);
    assert.equal(await readFile(file, 'utf8'), 'tag: v2\n');

    await writeFileAtomically(join(dir, 'new.yaml'), 'tag: v1\n');
    assert.equal((await stat(join(dir, 'new.yaml'))).mode & 0o7777, 0o600);
  });

  it("keeps the owner and group of the file it replaces when no mode is given (a user's manifest stays theirs)", async () => {
    const file = join(dir, 'web.yaml');
    await writeFile(file, 'tag: v1\n');
    await chown(file, NOBODY, NOBODY);
    await chmod(file, 0o664);
    await writeFileAtomically(file, 'tag: v2\n');
    const after = await stat(file);
    assert.deepEqual([after.uid, after.gid, after.mode & 0o7777], [NOBODY, NOBODY, 0o664]);
    assert.equal(await readFile(file, 'utf8'), 'tag: v2\n');

    // With a mode, the file is berth's own: the owner is berth's user, as before.
    await writeFileAtomically(file, 'tag: v3\n', 0o600);
    assert.equal((await stat(file)).uid, process.getuid?.());
  });

  it('leaves the old file and no temporary file when the write fails before the rename', async () => {
    const file = join(dir, 'state.json');
    await writeFile(file, 'old\n');
    let seen: string[] = [];
    await assert.rejects(
      writeFileAtomically(file, 'new\n', 0o600, async () => {
        seen = await readdir(dir);
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      }),
      /ENOSPC/,
    );
    assert.equal(seen.length, 2, 'the temporary file existed when the write failed');
    assert.equal(await readFile(file, 'utf8'), 'old\n');
    assert.deepEqual(await readdir(dir), ['state.json']);
  });

  it('leaves the old entry and no temporary file when the rename fails (a directory at the name)', async () => {
    const target = join(dir, 'taken');
    await mkdir(target);
    await writeFile(join(target, 'inside'), 'kept\n');
    await assert.rejects(writeFileAtomically(target, 'new\n', 0o600), /EISDIR|ENOTEMPTY|EEXIST/);
    assert.equal(await readFile(join(target, 'inside'), 'utf8'), 'kept\n');
    assert.deepEqual(await readdir(dir), ['taken']);
  });

  it('replaces a link at the target with the file; what the link pointed to is untouched', async () => {
    const victim = join(dir, 'victim');
    await writeFile(victim, 'precious\n');
    await chmod(victim, 0o644);
    const file = join(dir, 'token');
    await symlink(victim, file);
    await writeFileAtomically(file, 'answer\n', 0o644);
    assert.ok((await lstat(file)).isFile(), 'the link is now a file');
    assert.equal(await readFile(file, 'utf8'), 'answer\n');
    assert.equal(await readFile(victim, 'utf8'), 'precious\n');
  });

  it('leaves one whole content after two concurrent writes', async () => {
    const file = join(dir, 'state.json');
    const a = 'a'.repeat(1 << 20);
    const b = 'b'.repeat(1 << 20);
    await Promise.all([writeFileAtomically(file, a, 0o600), writeFileAtomically(file, b, 0o600)]);
    const content = await readFile(file, 'utf8');
    assert.ok(content === a || content === b, 'one write whole, not a mix');
    assert.deepEqual(await readdir(dir), ['state.json']);
  });
});
