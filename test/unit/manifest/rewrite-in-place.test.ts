import { strict as assert } from 'node:assert';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestRewriteError, rewriteManifestInPlace } from '../../../src/manifest/rewrite-in-place.js';
import { swapDirectories } from '../../support/directory-swapper.js';

/**
 * The confined in-place rewrite `tags:deploy` and image automation share: inside the manifests,
 * never through a link, owner and mode kept, and no directory swap by another user redirects it.
 */
describe('rewriting a manifest in place (rewriteManifestInPlace)', () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'berth-rewrite-'));
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });
  const bump = (text: string) => text.replace('tag: v1', 'tag: v2');

  it("writes only what the rewrite changed, keeping the file's owner and mode; the same text writes nothing", async () => {
    const dir = await mkdtemp(join(scratch, 'plain-'));
    const file = join(dir, 'web.yaml');
    await writeFile(file, '# kept\nspec:\n  tag: v1 # kept too\n');
    await chmod(file, 0o640);
    await chown(file, 65534, 65534);
    assert.equal(await rewriteManifestInPlace(file, dir, bump), 'written');
    assert.equal(await readFile(file, 'utf8'), '# kept\nspec:\n  tag: v2 # kept too\n');
    const after = await stat(file);
    assert.deepEqual([after.mode & 0o777, after.uid, after.gid], [0o640, 65534, 65534]);
    assert.equal(await rewriteManifestInPlace(file, dir, (text) => text), 'unchanged');
  });

  it('refuses a file that leads out of the manifests through a link, and writes nothing there', async () => {
    const dir = await mkdtemp(join(scratch, 'link-'));
    const outside = join(scratch, 'outside.yaml');
    await writeFile(outside, 'spec:\n  tag: v1\n');
    await symlink(outside, join(dir, 'web.yaml'));
    await assert.rejects(
      rewriteManifestInPlace(join(dir, 'web.yaml'), dir, bump),
      (error: Error) =>
        error instanceof ManifestRewriteError &&
        error.kind === 'refused' &&
        /leads out of the manifests/.test(error.message),
    );
    assert.equal(await readFile(outside, 'utf8'), 'spec:\n  tag: v1\n');
  });

  it('cannot be redirected by a user swapping a directory on the way for a link to another', async function () {
    this.timeout(60_000);
    const base = await mkdtemp(join(scratch, 'race-'));
    const root = join(base, 'manifests');
    const victim = join(base, 'victim');
    await mkdir(join(root, 'team', 'apps'), { recursive: true });
    await mkdir(victim);
    await writeFile(join(victim, 'web.yaml'), 'spec:\n  tag: v1 # root-only, never to be written\n');
    await writeFile(join(root, 'team', 'apps', 'web.yaml'), 'spec:\n  tag: v1\n');
    await symlink(victim, join(root, 'team', 'apps.link'));
    // The user's side: swaps team/apps and team/apps.link (a link to the victim directory) as fast as it can.
    const swapper = swapDirectories(join(root, 'team'), 'apps', 'apps.link');
    try {
      const outcomes = new Set<string>();
      const until = Date.now() + 5_000;
      for (let i = 0; i < 3_000 && Date.now() < until; i++) {
        await rewriteManifestInPlace(join(root, 'team', 'apps', 'web.yaml'), root, (text) =>
          text.includes('v1') ? bump(text) : text.replace('tag: v2', 'tag: v1'),
        )
          .then((result) => outcomes.add(result))
          .catch((error: unknown) => outcomes.add(error instanceof Error ? error.name : String(error)));
        assert.equal(
          await readFile(join(victim, 'web.yaml'), 'utf8'),
          'spec:\n  tag: v1 # root-only, never to be written\n',
          `written through the link on attempt ${i + 1}`,
        );
      }
      assert.deepEqual(await readdir(victim), ['web.yaml'], 'not even a temporary file there');
      assert.ok(outcomes.has('written'), `the manifest is still written between swaps: ${[...outcomes]}`);
    } finally {
      await swapper.stop();
    }
  });
});
