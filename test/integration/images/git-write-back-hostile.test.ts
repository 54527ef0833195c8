/**
 * A hostile tree on the git remote berth writes image tags back to (a bare repository over file://):
 * a manifest reached through a directory that is a symbolic link in the tree, and a manifest file
 * far over the 1 MiB bound. berth's write-back pushes nothing for either, and follows no link.
 */
import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitWriteBack, WriteBackError } from '../../../src/images/write-back/git.js';
import { systemClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
import { git, GitRepo } from '../../support/git-server.js';

const manifest = (name: string, tag: string) =>
  `metadata:\n  name: ${name}\nspec:\n  image: registry.example.test/team/${name}\n  tag: ${tag}\n`;

describe('git write-back against a hostile tree (bare repository on file://)', function () {
  this.timeout(60_000);
  let repo: GitRepo;
  let state: string;

  beforeEach(async () => {
    repo = await GitRepo.create();
    state = await mkdtemp(join(tmpdir(), 'berth-write-back-hostile-'));
    // `manifests` is a link to `elsewhere` in the tree: the manifest is there only through the link.
    await mkdir(join(repo.work, 'elsewhere'), { recursive: true });
    await writeFile(join(repo.work, 'elsewhere', 'web.yaml'), manifest('web', '1.1.0'));
    await symlink('elsewhere', join(repo.work, 'manifests'));
    await mkdir(join(repo.work, 'big'));
    await writeFile(join(repo.work, 'big', 'web.yaml'), `${manifest('web', '1.1.0')}#${'x'.repeat(2 * 1024 * 1024)}\n`);
    await repo.commit({}, 'a hostile tree');
  });
  afterEach(async () => {
    await repo.remove();
    await rm(state, { recursive: true, force: true });
  });

  const propose = (path: string) =>
    new GitWriteBack({
      url: repo.fileUrl,
      branch: 'main',
      path,
      dir: join(state, 'git', 'write-back'),
      author: { name: 'berth bot', email: 'berth-bot@example.test' },
      clock: systemClock,
      logger: silentLogger(),
    }).propose(
      { app: 'web', file: 'web.yaml', from: '1.1.0', to: '1.1.1', policy: 'semver ^1' },
      new AbortController().signal,
    );
  const head = () => git(['--git-dir', repo.bare, 'rev-parse', 'refs/heads/main']);

  it('follows no directory link of the tree, and refuses a manifest over 1 MiB, pushing nothing', async () => {
    const before = await head();
    await assert.rejects(
      propose('manifests'),
      (error: unknown) =>
        error instanceof WriteBackError &&
        error.kind === 'stale' &&
        /manifests\/web\.yaml is not in main's head \(moved, deleted, or behind a symbolic link\)/.test(error.message),
    );
    await assert.rejects(
      propose('big'),
      (error: unknown) =>
        error instanceof WriteBackError &&
        error.kind === 'refused' &&
        error.message === 'big/web.yaml in main is larger than 1048576 bytes; not written',
    );
    assert.equal(await head(), before, 'nothing pushed');
  });
});
