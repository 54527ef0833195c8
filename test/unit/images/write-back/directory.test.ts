import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTagToFile } from '../../../../src/images/write-back/directory.js';
import { WriteBackError } from '../../../../src/images/write-back/errors.js';
import { ManifestEditError } from '../../../../src/manifest/errors.js';

/** The user `nobody` on Debian: another user than berth's (the unit tests run as root). */
const NOBODY = 65534;

const WEB = [
  '# web: followed by an image policy',
  'apiVersion: berth/v1',
  'kind: App',
  'metadata:',
  '  name: web',
  'spec:',
  '  image: registry.example.test/team/web',
  '  tag: 1.1.0    # berth moves this',
  '',
  '  imagePolicy:',
  '    semver: ^1',
  '',
].join('\n');

function refusedAs(kind: string, message: RegExp) {
  return (error: unknown) =>
    error instanceof WriteBackError &&
    error.kind === kind &&
    message.test(error.message) &&
    !error.message.includes('\n');
}

describe('writeTagToFile (image automation writes a tag into a manifest directory)', () => {
  let root: string;
  let manifests: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-write-back-'));
    manifests = join(root, 'manifests');
    await mkdir(manifests);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("changes only the tag's characters and keeps the file's owner and mode", async () => {
    const file = join(manifests, 'web.yaml');
    await writeFile(file, WEB);
    await chown(file, NOBODY, NOBODY);
    await chmod(file, 0o640);
    assert.equal(await writeTagToFile(file, 'web', { tag: '1.1.1' }, { root: manifests }), 'written');
    assert.equal(await readFile(file, 'utf8'), WEB.replace('tag: 1.1.0 ', 'tag: 1.1.1 '));
    const after = await stat(file);
    assert.deepEqual([after.uid, after.gid, after.mode & 0o7777], [NOBODY, NOBODY, 0o640]);
    assert.deepEqual(await readdir(manifests), ['web.yaml'], 'no temporary file left');
  });

  it('writes the digest a manifest pins, and says unchanged (writing nothing) when the file already says it', async () => {
    const file = join(manifests, 'web.yaml');
    const pinned = WEB.replace('  tag: 1.1.0', `  digest: sha256:${'a'.repeat(64)}\n  tag: 1.1.0`);
    await writeFile(file, pinned);
    const to = { tag: '1.1.1', digest: `sha256:${'b'.repeat(64)}` };
    assert.equal(await writeTagToFile(file, 'web', to, { root: manifests }), 'written');
    assert.equal(
      await readFile(file, 'utf8'),
      pinned.replace('a'.repeat(64), 'b'.repeat(64)).replace('1.1.0', '1.1.1'),
    );
    const before = await stat(file);
    assert.equal(await writeTagToFile(file, 'web', to, { root: manifests }), 'unchanged');
    assert.equal((await stat(file)).ino, before.ino, 'the file was not replaced');
    await assert.rejects(
      writeTagToFile(file, 'web', { tag: '1.1.2' }, { root: manifests }),
      (error: unknown) => error instanceof ManifestEditError && /a new tag needs its digest/.test(error.message),
    );
  });

  it('follows a symlink inside the manifests, and refuses one planted to a file outside, which stays untouched', async () => {
    await mkdir(join(manifests, 'team'));
    await writeFile(join(manifests, 'team', 'web.yaml'), WEB);
    await symlink(join('team', 'web.yaml'), join(manifests, 'web.yaml'));
    assert.equal(
      await writeTagToFile(join(manifests, 'web.yaml'), 'web', { tag: '1.2.0' }, { root: manifests }),
      'written',
    );
    assert.match(await readFile(join(manifests, 'team', 'web.yaml'), 'utf8'), /tag: 1\.2\.0 /);

    // An /etc/passwd-like file outside, owned by root, which parses as the app's manifest.
    const outside = join(root, 'passwd');
    await writeFile(outside, WEB);
    await chmod(outside, 0o644);
    await symlink(outside, join(manifests, 'api.yaml'));
    await assert.rejects(
      writeTagToFile(join(manifests, 'api.yaml'), 'web', { tag: '1.2.0' }, { root: manifests }),
      refusedAs('refused', /api\.yaml leads out of the manifests \(a symbolic link\); not written/),
    );
    // Without a root given, the file's own directory is the bound.
    await assert.rejects(
      writeTagToFile(join(manifests, 'api.yaml'), 'web', { tag: '1.2.0' }),
      refusedAs('refused', /leads out of the manifests/),
    );
    assert.equal(await readFile(outside, 'utf8'), WEB);
    assert.equal((await stat(outside)).mode & 0o7777, 0o644);
  });

  it('refuses what is not a regular manifest: a FIFO, a file over 1 MiB, bytes that are not UTF-8', async () => {
    const fifo = join(manifests, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(
      writeTagToFile(fifo, 'web', { tag: '1.1.1' }, { root: manifests }),
      refusedAs('refused', /fifo\.yaml is not a regular file/),
    );
    const large = join(manifests, 'large.yaml');
    await writeFile(large, `${WEB}#${'x'.repeat(1024 * 1024)}\n`);
    await assert.rejects(
      writeTagToFile(large, 'web', { tag: '1.1.1' }, { root: manifests }),
      refusedAs('refused', /large\.yaml is larger than 1048576 bytes/),
    );
    const latin1 = join(manifests, 'latin1.yaml');
    const bytes = Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9]), Buffer.from(`\n${WEB}`)]);
    await writeFile(latin1, bytes);
    await assert.rejects(
      writeTagToFile(latin1, 'web', { tag: '1.1.1' }, { root: manifests }),
      refusedAs('refused', /latin1\.yaml is not UTF-8 text/),
    );
    assert.deepEqual(await readFile(latin1), bytes);
  });

  it("does not clobber a person's edit made since berth read the file", async () => {
    const file = join(manifests, 'web.yaml');
    await writeFile(file, WEB);
    const read = await readFile(file, 'utf8');
    const rolledBack = WEB.replace('tag: 1.1.0', 'tag: 1.0.0');
    await writeFile(file, rolledBack);
    await assert.rejects(
      writeTagToFile(file, 'web', { tag: '1.1.1' }, { root: manifests, expectedText: read }),
      refusedAs('stale', /web\.yaml changed since berth read it; the tag of web was not written/),
    );
    assert.equal(await readFile(file, 'utf8'), rolledBack);
    assert.equal(
      await writeTagToFile(file, 'web', { tag: '1.1.1' }, { root: manifests, expectedText: rolledBack }),
      'written',
    );
  });
});
