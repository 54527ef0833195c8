/**
 * Image automation's git write-back against real remotes on loopback: a bare repository over
 * file:// and the same repository over smart HTTP behind basic auth (`git http-backend`). The
 * commit lands with berth's author and message; a push by someone else between berth's fetch and
 * its push is never lost; a person's rollback in that window is never overwritten;
 * `--git-push-branch` leaves the followed branch alone; an unchanged proposal pushes nothing.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitWriteBack, type GitWriteBackOptions, WriteBackError } from '../../../src/images/write-back/git.js';
import { systemClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
import { GitHttpServer } from '../../support/git-http.js';
import { git, GitRepo } from '../../support/git-server.js';

const AUTHOR = { name: 'berth bot', email: 'berth-bot@example.test' };

/** A manifest as its author wrote it: comments and layout that must survive the edit. */
const web = (tag: string) =>
  [
    '# web: followed by an image policy',
    'apiVersion: berth/v1',
    'kind: App',
    'metadata:',
    '  name: web',
    'spec:',
    '  image: registry.example.test/team/web',
    `  tag: ${tag}    # berth moves this`,
    '  imagePolicy: {semver: ^1}',
    '',
  ].join('\n');

const CHANGE = { app: 'web', file: 'web.yaml', from: '1.1.0', to: '1.1.1', policy: 'semver ^1' };

describe('git write-back (real remotes on loopback)', function () {
  this.timeout(60_000);
  let repo: GitRepo;
  let state: string;
  const signal = new AbortController().signal;

  beforeEach(async () => {
    repo = await GitRepo.create();
    state = await mkdtemp(join(tmpdir(), 'berth-write-back-state-'));
    await repo.commit({ 'manifests/web.yaml': web('1.1.0'), 'README.md': 'the deploy repo\n' }, 'add web', {
      push: false,
    });
    // The manifest is executable in git (mode 100755): the write keeps that.
    await chmod(join(repo.work, 'manifests', 'web.yaml'), 0o755);
    await repo.commit({}, 'web.yaml +x');
  });
  afterEach(async () => {
    await repo.remove();
    await rm(state, { recursive: true, force: true });
  });

  const writeBack = (options: Partial<GitWriteBackOptions> = {}) =>
    new GitWriteBack({
      url: repo.fileUrl,
      branch: 'main',
      path: 'manifests',
      dir: join(state, 'git', 'write-back'),
      author: AUTHOR,
      clock: systemClock,
      logger: silentLogger(),
      ...options,
    });
  const remoteHead = (branch: string) =>
    git(['--git-dir', repo.bare, 'rev-parse', '--verify', '-q', `refs/heads/${branch}`]).catch(() => undefined);
  const remoteFile = (rev: string, file = 'manifests/web.yaml') =>
    git(['--git-dir', repo.bare, 'show', `${rev}:${file}`]);
  /** Another person's clone of the repository, pushing to `main`. */
  const pushFromElsewhere = async (files: Record<string, string>, subject: string) => {
    await git(['pull', '-q', '--rebase', 'origin', 'main'], repo.work);
    await repo.commit(files, subject);
  };

  it("commits the tag on the followed branch as berth's author, with the message naming app, tags and policy", async () => {
    const before = await remoteHead('main');
    const result = await writeBack().propose(CHANGE, signal);
    assert.equal(result.kind, 'pushed');
    assert.equal(result.branch, 'main');
    const head = await remoteHead('main');
    assert.equal(result.kind === 'pushed' && result.commit, head);
    const [author, committer, parent, subject, body] = (
      await git(['--git-dir', repo.bare, 'log', '-1', '--format=%an <%ae>%x00%cn <%ce>%x00%P%x00%s%x00%b', 'main'])
    ).split('\0');
    assert.equal(author, 'berth bot <berth-bot@example.test>');
    assert.equal(committer, 'berth bot <berth-bot@example.test>');
    assert.equal(parent, before);
    assert.equal(subject, 'berth: web 1.1.0 -> 1.1.1');
    assert.equal(body?.trim(), 'Image policy semver ^1 of app web moved its tag from 1.1.0 to 1.1.1.');
    // Only the tag's characters changed, the file's mode in git kept, nothing else in the commit.
    assert.equal(await remoteFile('main'), web('1.1.1').trimEnd());
    assert.match(await git(['--git-dir', repo.bare, 'ls-tree', 'main', 'manifests/web.yaml']), /^100755 /);
    assert.equal(await git(['--git-dir', repo.bare, 'diff', '--name-only', `${before}`, 'main']), 'manifests/web.yaml');
  });

  it('a second proposal of the same change pushes nothing and says unchanged', async () => {
    const first = await writeBack().propose(CHANGE, signal);
    const head = await remoteHead('main');
    const second = await writeBack().propose(CHANGE, signal);
    assert.deepEqual(second, { kind: 'unchanged', branch: 'main' });
    assert.equal(await remoteHead('main'), head);
    assert.equal(first.kind === 'pushed' && first.commit, head);
  });

  it("does not lose someone else's push between berth's fetch and its push: berth's commit lands on top", async () => {
    let raced = 0;
    const result = await writeBack({
      beforePush: async () => {
        raced += 1;
        if (raced === 1) await pushFromElsewhere({ 'manifests/api.yaml': 'metadata: {name: api}\n' }, 'add api');
      },
    }).propose(CHANGE, signal);
    assert.equal(raced, 2, 'berth pushed again after losing the race once');
    const [subject, parentSubject] = (await git(['--git-dir', repo.bare, 'log', '-2', '--format=%s', 'main'])).split(
      '\n',
    );
    assert.equal(subject, 'berth: web 1.1.0 -> 1.1.1');
    assert.equal(parentSubject, 'add api');
    assert.equal(result.kind === 'pushed' && result.commit, await remoteHead('main'));
    assert.equal(await remoteFile('main', 'manifests/api.yaml'), 'metadata: {name: api}');
    assert.equal(await remoteFile('main'), web('1.1.1').trimEnd());
  });

  it("never overwrites a person's rollback pushed while berth was pushing", async () => {
    let pushed = false;
    const attempt = writeBack({
      beforePush: async () => {
        if (pushed) return;
        pushed = true;
        await pushFromElsewhere({ 'manifests/web.yaml': web('1.0.0') }, 'roll web back to 1.0.0');
      },
    }).propose(CHANGE, signal);
    await assert.rejects(
      attempt,
      (error: unknown) =>
        error instanceof WriteBackError &&
        error.kind === 'stale' &&
        /manifests\/web\.yaml on main now says tag "1\.0\.0" for web, not 1\.1\.0/.test(error.message),
    );
    assert.equal(await git(['--git-dir', repo.bare, 'log', '-1', '--format=%s', 'main']), 'roll web back to 1.0.0');
    assert.equal(await remoteFile('main'), web('1.0.0').trimEnd());
  });

  it('gives up after losing 5 races in a row, never forcing its push over the others', async () => {
    let pushes = 0;
    await assert.rejects(
      writeBack({
        beforePush: async () => {
          pushes += 1;
          await pushFromElsewhere({ [`notes/${pushes}.txt`]: `${pushes}\n` }, `note ${pushes}`);
        },
      }).propose(CHANGE, signal),
      (error: unknown) =>
        error instanceof WriteBackError &&
        error.kind === 'failed' &&
        /main moved under each of 5 pushes; the tag of web was not written/.test(error.message),
    );
    assert.equal(pushes, 5);
    assert.equal(await git(['--git-dir', repo.bare, 'log', '-1', '--format=%s', 'main']), 'note 5');
    assert.equal(await remoteFile('main'), web('1.1.0').trimEnd());
  });

  it('refuses a manifest that is a symbolic link in the tree, or a path out of the repository', async () => {
    await symlink('/etc/passwd', join(repo.work, 'manifests', 'evil.yaml'));
    await repo.commit({}, 'plant a link');
    const head = await remoteHead('main');
    await assert.rejects(
      writeBack().propose({ ...CHANGE, file: 'evil.yaml' }, signal),
      (error: unknown) =>
        error instanceof WriteBackError &&
        error.kind === 'refused' &&
        /manifests\/evil\.yaml is a symbolic link in main/.test(error.message),
    );
    await assert.rejects(
      writeBack().propose({ ...CHANGE, file: '../../etc/passwd' }, signal),
      (error: unknown) => error instanceof WriteBackError && /leaves the repository/.test(error.message),
    );
    assert.equal(await remoteHead('main'), head);
  });

  describe('with --git-push-branch, over HTTP behind basic auth', () => {
    const PASSWORD = 'write-back-token-s3cret';
    let server: GitHttpServer;
    /** The process list as each request reached the server, while berth's git was talking to it. */
    let processLists: string[];
    beforeEach(async () => {
      processLists = [];
      server = await GitHttpServer.start(repo.bare, 'berth', PASSWORD, () =>
        processLists.push(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })),
      );
    });
    afterEach(async () => {
      await server.stop();
    });
    const proposing = (options: Partial<GitWriteBackOptions> = {}) =>
      writeBack({ url: server.url(`berth:${PASSWORD}`), pushBranch: 'berth/updates', ...options });

    it('proposes on the push branch, built on the followed head, and leaves the followed branch alone', async () => {
      const main = await remoteHead('main');
      const result = await proposing().propose(CHANGE, signal);
      assert.equal(result.kind, 'pushed');
      assert.equal(result.branch, 'berth/updates');
      const proposal = await remoteHead('berth/updates');
      assert.equal(result.kind === 'pushed' && result.commit, proposal);
      assert.equal(await remoteHead('main'), main, 'the followed branch did not move');
      assert.equal(await git(['--git-dir', repo.bare, 'rev-parse', `${proposal}^`]), main);
      assert.equal(await remoteFile('berth/updates'), web('1.1.1').trimEnd());
      assert.equal(await remoteFile('main'), web('1.1.0').trimEnd());

      // The same proposal again: nothing pushed.
      assert.deepEqual(await proposing().propose(CHANGE, signal), { kind: 'unchanged', branch: 'berth/updates' });
      assert.equal(await remoteHead('berth/updates'), proposal);

      // The password went to git through the environment, never on a command line `ps` shows.
      assert.ok(server.requests.some((r) => r.authorized) && processLists.length > 0);
      for (const list of processLists) assert.ok(!list.includes(PASSWORD), 'the password is in the process list');
    });

    it('merges a moved followed branch into the push branch, so its push is a fast-forward, never forced', async () => {
      await proposing().propose(CHANGE, signal);
      const first = await remoteHead('berth/updates');
      await pushFromElsewhere({ 'manifests/api.yaml': 'metadata: {name: api}\n' }, 'add api');
      const main = await remoteHead('main');
      const result = await proposing().propose({ ...CHANGE, to: '1.1.2' }, signal);
      assert.equal(result.kind, 'pushed');
      const proposal = await remoteHead('berth/updates');
      assert.equal(await remoteHead('main'), main, 'the followed branch did not move');
      // Both the earlier proposal and the followed head are ancestors: a fast-forward, nothing lost.
      for (const ancestor of [first, main])
        await git(['--git-dir', repo.bare, 'merge-base', '--is-ancestor', `${ancestor}`, `${proposal}`]);
      assert.equal(await remoteFile('berth/updates'), web('1.1.2').trimEnd());
      assert.equal(await remoteFile('berth/updates', 'manifests/api.yaml'), 'metadata: {name: api}');
      assert.equal(
        await git(['--git-dir', repo.bare, 'log', '-1', '--format=%s', 'berth/updates']),
        'berth: web 1.1.0 -> 1.1.2',
      );
    });

    it('refuses, pushing nothing, when the push branch conflicts with the followed branch', async () => {
      await proposing().propose(CHANGE, signal);
      const proposal = await remoteHead('berth/updates');
      // A person rewords the tag's line on main: the same line the proposal changed.
      await pushFromElsewhere(
        { 'manifests/web.yaml': web('1.1.0').replace('# berth moves this', '# ops: watch this one') },
        'reword the comment',
      );
      await assert.rejects(
        proposing().propose({ ...CHANGE, to: '1.1.2' }, signal),
        (error: unknown) =>
          error instanceof WriteBackError &&
          error.kind === 'refused' &&
          /berth\/updates conflicts with main; merge or delete berth\/updates/.test(error.message),
      );
      assert.equal(await remoteHead('berth/updates'), proposal);
    });

    it('never puts the password in a message', async () => {
      const wrong = writeBack({ url: server.url('berth:wrong-password-s3cret'), pushBranch: 'berth/updates' });
      await assert.rejects(wrong.propose(CHANGE, signal), (error: unknown) => {
        assert.ok(error instanceof WriteBackError && error.kind === 'failed', String(error));
        assert.ok(!error.message.includes('wrong-password-s3cret'), error.message);
        assert.match(error.message, new RegExp(`http://127\\.0\\.0\\.1:${server.port}/repo\\.git@berth/updates`));
        return true;
      });
      assert.equal(await remoteHead('berth/updates'), undefined);
    });
  });
});
