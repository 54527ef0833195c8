/**
 * Image automation's write-back with a git source (`--git`): the edit of the app's manifest
 * (../../manifest/edit.ts: only the tag's characters, and the pinned digest's) committed as
 * `--git-author` and pushed to the followed branch, or, with `--git-push-branch`, to that branch
 * for review. Never a force-push: a push that loses a race fetches the new head and applies the
 * edit again (at most MAX_ATTEMPTS times).
 *
 * berth's own repository under `dir` (`<state-dir>/<namespace>/git/write-back/repo.git`) is bare:
 * commits are built with git's plumbing (a blob, a temporary index, a tree, `commit-tree`), so
 * nothing of the remote's tree is ever checked out: no symlink of it is followed, no attribute
 * filter of it runs. Local commands run without the user's or the system's git config and without
 * hooks; the commands that talk to the remote keep the user's config (SSH, credential helpers, as
 * the git source does), with hooks, signing and automatic gc off. Every command has runGit's
 * timeout, and a remote URL's credentials never reach a message.
 *
 * Followed branch: the edit is committed on its fresh head; a head whose manifest already says
 * the new tag is `unchanged`; a head whose tag is neither the old one nor the new one (a person
 * moved it: a rollback) is not overwritten (`stale`).
 *
 * Push branch: built on the followed branch's head. When the push branch exists it is built on:
 * `unchanged` when it already says the new tag and holds the followed head; when it lacks the
 * followed head, that is merged into it first (a conflict refuses), so every push is a
 * fast-forward. The followed branch is never pushed to.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setSpecImage } from '../../manifest/edit.js';
import { quote } from '../../manifest/printable.js';
import { GitError, runGit } from '../../source/git/git-command.js';
import { redactCredentials, redactUrl } from '../../source/git/redact-url.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { blobId, commitMessage, manifestPathInRepo, tagIn, type TagChange } from './change.js';
import { MAX_MANIFEST_BYTES } from './directory.js';
import { WriteBackError } from './errors.js';

export type { TagChange } from './change.js';
export { WriteBackError } from './errors.js';

export interface GitWriteBackOptions {
  /** The remote (credentials in it stay out of command lines and messages). */
  url: string;
  /** The followed branch. */
  branch: string;
  /** The manifests directory inside the repository ('' = its root). */
  path: string;
  /** `<state-dir>/<namespace>/git/write-back`: berth's own repository, made here when missing. */
  dir: string;
  /** Author and committer of berth's commits (`--git-author`). */
  author: { name: string; email: string };
  /** `--git-push-branch`: propose there instead of pushing to the followed branch. */
  pushBranch?: string;
  clock: Clock;
  logger: Logger;
  /** For tests only: runs right before each push, once berth has fetched and built its commit (another clone pushes there to make berth lose a race). */
  beforePush?: () => Promise<void>;
}

/** What a proposal did: a commit pushed to `branch`, or nothing, because `branch` already says it. */
export type WriteBackResult =
  | { kind: 'pushed'; branch: string; commit: string }
  | { kind: 'unchanged'; branch: string };

/** Pushes lost to someone else's push before berth gives up (`failed`). */
export const MAX_ATTEMPTS = 5;

/** History fetched of each branch; a merge base further back is looked for once, this much deeper. */
const DEPTH = 50;
const DEEPER = 1000;

/** Local commands: neither the user's nor the system's config (no filter, merge driver, signing or hook of theirs). */
const ISOLATED_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_LITERAL_PATHSPECS: '1' };
const SAFE_CONFIG = [
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'commit.gpgSign=false',
  '-c',
  'push.gpgSign=false',
  '-c',
  'gc.auto=0',
  '-c',
  'maintenance.auto=false',
];

/** Refs of berth's repository that hold the remote's heads as last fetched. */
const FOLLOWED_REF = 'refs/berth/followed';
const PROPOSAL_REF = 'refs/berth/proposal';

/** Modes of a regular file in a git tree. */
const REGULAR_FILE_MODES = new Set(['100644', '100755']);

/** A manifest file as a commit holds it. */
interface TreeFile {
  mode: string;
  text: string;
}

/** Writes image policies' new tags into a git repository's manifests. */
export class GitWriteBack {
  private readonly repo: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: GitWriteBackOptions) {
    const { name, email } = options.author;
    if (!/^[^<>\p{Cc}]+$/u.test(name) || !/^[^<>\s\p{Cc}]+$/u.test(email) || name.trim() !== name)
      throw new WriteBackError('refused', 'the git author must be "NAME <EMAIL>" on one line, without angle brackets');
    this.repo = join(options.dir, 'repo.git');
  }

  /**
   * Writes `change` into the manifest of `change.app` (file `change.file` under `path`) as a
   * commit and pushes it (see above). Proposals run one at a time. Throws WriteBackError (one
   * line, the URL without credentials): `stale` when the branch's manifest no longer says
   * `change.from` (nor `change.to`), or the file is gone; `refused` for a path leaving the
   * repository, a symlink or non-regular file there, a file over 1 MiB or not UTF-8, a proposal
   * branch that conflicts with the followed one; `failed` for git or the remote failing, or
   * MAX_ATTEMPTS lost races. A ManifestEditError when the tag cannot be edited in place. `signal`
   * stops it between git commands.
   */
  propose(change: TagChange, signal: AbortSignal): Promise<WriteBackResult> {
    const run = this.queue.then(() => this.proposeNow(change, signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async proposeNow(change: TagChange, signal: AbortSignal): Promise<WriteBackResult> {
    const { path, pushBranch, branch, url } = this.options;
    const file = manifestPathInRepo(path, change.file);
    if (file === undefined)
      throw new WriteBackError(
        'refused',
        `${quote(change.file)} under ${quote(path)} leaves the repository; not written`,
      );
    try {
      signal.throwIfAborted();
      await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
      await this.local(['init', '--bare', '-q', '--template=', this.repo], false);
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
        signal.throwIfAborted();
        const outcome =
          pushBranch === undefined
            ? await this.onFollowed(change, file, signal)
            : await this.onProposal(change, file, pushBranch, signal);
        if (outcome !== 'raced') return outcome;
        this.options.logger.info(
          { source: 'image', app: change.app, branch: pushBranch ?? branch, attempt },
          `${redactUrl(url)}@${pushBranch ?? branch} moved while berth pushed; applying the tag of ${change.app} again`,
        );
      }
      throw new WriteBackError(
        'failed',
        `${redactUrl(url)}@${pushBranch ?? branch} moved under each of ${MAX_ATTEMPTS} pushes; the tag of ${change.app} was not written`,
      );
    } catch (error) {
      if (error instanceof GitError)
        throw new WriteBackError(
          'failed',
          `git write-back to ${redactUrl(url)}@${pushBranch ?? branch}: ${redactCredentials(error.message, url)}`,
          { cause: error },
        );
      throw error;
    }
  }

  /** One attempt on the followed branch: commit on its fresh head, push; 'raced' when the head moved meanwhile. */
  private async onFollowed(change: TagChange, file: string, signal: AbortSignal): Promise<WriteBackResult | 'raced'> {
    const { branch } = this.options;
    const heads = await this.fetch(signal);
    const head = heads.followed;
    const current = await this.readFile(head, file);
    const edited = this.edit(current.text, file, change, branch);
    if (edited === undefined) return { kind: 'unchanged', branch };
    signal.throwIfAborted();
    const commit = await this.commitEdit(head, [head], file, current.mode, edited, change);
    return this.push(commit, branch, head, change, signal);
  }

  /** One attempt on the push branch: built on the followed head (merged into an existing push branch first). */
  private async onProposal(
    change: TagChange,
    file: string,
    pushBranch: string,
    signal: AbortSignal,
  ): Promise<WriteBackResult | 'raced'> {
    const { branch } = this.options;
    const heads = await this.fetch(signal);
    const followed = await this.readFile(heads.followed, file);
    if (this.edit(followed.text, file, change, branch) === undefined) return { kind: 'unchanged', branch: pushBranch };
    let base = heads.followed;
    if (heads.proposal !== undefined) {
      base = heads.proposal;
      if (!(await this.isAncestor(heads.followed, heads.proposal))) {
        signal.throwIfAborted();
        base = await this.merge(heads.proposal, heads.followed, pushBranch, signal);
      }
    }
    const current = base === heads.followed ? followed : await this.readFile(base, file, pushBranch);
    const edited = setSpecImage(current.text, file, change.app, {
      tag: change.to,
      ...(change.digest !== undefined ? { digest: change.digest } : {}),
    });
    if (edited === current.text && base === heads.proposal) return { kind: 'unchanged', branch: pushBranch };
    signal.throwIfAborted();
    const commit =
      edited === current.text ? base : await this.commitEdit(base, [base], file, current.mode, edited, change);
    return this.push(commit, pushBranch, heads.proposal, change, signal);
  }

  /**
   * The edited text of the followed branch's manifest, or undefined when it already says `to`
   * (and the digest). Throws `stale` when it says neither `from` nor `to`: a person moved the tag.
   */
  private edit(text: string, file: string, change: TagChange, branch: string): string | undefined {
    const to = { tag: change.to, ...(change.digest !== undefined ? { digest: change.digest } : {}) };
    const edited = setSpecImage(text, file, change.app, to);
    if (edited === text) return undefined;
    const now = tagIn(text, file, change.app);
    if (now !== change.from && now !== change.to)
      throw new WriteBackError(
        'stale',
        `${file} on ${branch} now says tag ${now === undefined ? '(none)' : quote(now)} for ${change.app}, not ${change.from}; the move to ${change.to} was not written`,
      );
    return edited;
  }

  /** Fetches the followed branch (and the push branch when the remote has it); their heads as fetched. */
  private async fetch(signal: AbortSignal): Promise<{ followed: string; proposal?: string }> {
    const { url, branch, pushBranch } = this.options;
    const wanted = [branch, ...(pushBranch !== undefined ? [pushBranch] : [])].map((b) => `refs/heads/${b}`);
    const listed = await this.remote(['ls-remote', url, ...wanted]);
    const names = new Set(
      listed
        .split('\n')
        .map((line) => line.split('\t')[1])
        .filter((name): name is string => name !== undefined),
    );
    if (!names.has(`refs/heads/${branch}`))
      throw new WriteBackError('failed', `branch ${branch} is not on ${redactUrl(url)} (deleted?)`);
    const proposal = pushBranch !== undefined && names.has(`refs/heads/${pushBranch}`);
    signal.throwIfAborted();
    await this.fetchDepth(DEPTH, proposal);
    if (!proposal) await this.local(['update-ref', '-d', PROPOSAL_REF]).catch(() => undefined);
    return {
      followed: await this.resolve(FOLLOWED_REF),
      ...(proposal ? { proposal: await this.resolve(PROPOSAL_REF) } : {}),
    };
  }

  private async fetchDepth(depth: number, proposal: boolean): Promise<void> {
    const { url, branch, pushBranch } = this.options;
    await this.remote([
      'fetch',
      '-q',
      '--no-tags',
      '--no-recurse-submodules',
      '--depth',
      String(depth),
      url,
      `+refs/heads/${branch}:${FOLLOWED_REF}`,
      ...(proposal ? [`+refs/heads/${pushBranch}:${PROPOSAL_REF}`] : []),
    ]);
  }

  /** The manifest at `commit`: a regular file inside the repository, at most 1 MiB of UTF-8. */
  private async readFile(commit: string, file: string, on: string = this.options.branch): Promise<TreeFile> {
    const entry = (await this.local(['ls-tree', '-z', '--full-tree', commit, '--', file]))
      .split('\0')
      .map((line) => /^(\d+) (\w+) ([0-9a-f]+)\t(.*)$/s.exec(line))
      .find((match) => match?.[4] === file);
    if (!entry)
      throw new WriteBackError('stale', `${file} is not in ${on}'s head (moved, deleted, or behind a symbolic link)`);
    const [, mode = '', , blob = ''] = entry;
    if (mode === '120000') throw new WriteBackError('refused', `${file} is a symbolic link in ${on}; not written`);
    if (!REGULAR_FILE_MODES.has(mode))
      throw new WriteBackError('refused', `${file} is not a regular file in ${on}; not written`);
    const size = Number.parseInt(await this.local(['cat-file', '-s', blob]), 10);
    if (!(size <= MAX_MANIFEST_BYTES))
      throw new WriteBackError('refused', `${file} in ${on} is larger than ${MAX_MANIFEST_BYTES} bytes; not written`);
    const text = await this.local(['cat-file', 'blob', blob]);
    if (blobId(Buffer.from(text, 'utf8'), blob) !== blob)
      throw new WriteBackError('refused', `${file} in ${on} is not UTF-8 text; not written`);
    return { mode, text };
  }

  /** A commit of `parents` whose tree is `base`'s with `file` holding `text` (its git mode kept). */
  private async commitEdit(
    base: string,
    parents: string[],
    file: string,
    mode: string,
    text: string,
    change: TagChange,
  ): Promise<string> {
    const temp = join(this.options.dir, 'edit.tmp');
    const index = join(this.options.dir, 'index.tmp');
    try {
      await rm(temp, { force: true });
      await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
      const blob = (await this.local(['hash-object', '-w', '--no-filters', '--', temp])).trim();
      await rm(index, { force: true });
      const env = { GIT_INDEX_FILE: index };
      await this.local(['read-tree', base], true, env);
      await this.local(['update-index', '--cacheinfo', `${mode},${blob},${file}`], true, env);
      const tree = (await this.local(['write-tree'], true, env)).trim();
      const { subject, body } = commitMessage(change);
      return await this.commitTree(tree, parents, [subject, body]);
    } finally {
      await rm(temp, { force: true });
      await rm(index, { force: true });
    }
  }

  /** `proposal` with `followed` merged in (no work tree: merge-tree), so pushing it is a fast-forward. */
  private async merge(proposal: string, followed: string, pushBranch: string, signal: AbortSignal): Promise<string> {
    const { branch } = this.options;
    if (!(await this.hasMergeBase(proposal, followed))) {
      signal.throwIfAborted();
      await this.fetchDepth(DEEPER, true);
      if (!(await this.hasMergeBase(proposal, followed)))
        throw new WriteBackError(
          'refused',
          `${pushBranch} and ${branch} share no commit in their last ${DEEPER}; delete ${pushBranch} so berth proposes afresh`,
        );
    }
    let tree: string;
    try {
      tree =
        (await this.local(['merge-tree', '--write-tree', '--no-messages', proposal, followed])).split('\n')[0] ?? '';
    } catch (error) {
      if (exitCode(error) === 1)
        throw new WriteBackError(
          'refused',
          `${pushBranch} conflicts with ${branch}; merge or delete ${pushBranch} so berth can propose again`,
        );
      throw error;
    }
    return this.commitTree(tree.trim(), [proposal, followed], [`Merge branch '${branch}' into ${pushBranch}`]);
  }

  private async commitTree(tree: string, parents: string[], paragraphs: string[]): Promise<string> {
    const { name, email } = this.options.author;
    const date = `@${Math.floor(this.options.clock.now() / 1000)} +0000`;
    const env = {
      GIT_AUTHOR_NAME: name,
      GIT_AUTHOR_EMAIL: email,
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_NAME: name,
      GIT_COMMITTER_EMAIL: email,
      GIT_COMMITTER_DATE: date,
    };
    const args = ['commit-tree', '--no-gpg-sign', tree, ...parents.flatMap((p) => ['-p', p])];
    return (await this.local([...args, ...paragraphs.flatMap((p) => ['-m', p])], true, env)).trim();
  }

  /**
   * Pushes `commit` to `target` (never forced). A refused push is a lost race ('raced') when the
   * remote's `target` is no longer `expected` (undefined: the branch did not exist), else a failure.
   */
  private async push(
    commit: string,
    target: string,
    expected: string | undefined,
    change: TagChange,
    signal: AbortSignal,
  ): Promise<WriteBackResult | 'raced'> {
    const { url, logger } = this.options;
    await this.options.beforePush?.();
    signal.throwIfAborted();
    try {
      await this.remote([
        'push',
        '-q',
        '--no-verify',
        '--no-recurse-submodules',
        url,
        `${commit}:refs/heads/${target}`,
      ]);
    } catch (error) {
      const now = await this.remoteHead(target).catch(() => expected);
      if (now !== expected) return 'raced';
      throw error;
    }
    logger.info(
      { source: 'image', app: change.app, from: change.from, to: change.to, branch: target, commit },
      `Pushed ${commit.slice(0, 7)} to ${redactUrl(url)}@${target}: ${commitMessage(change).subject}`,
    );
    return { kind: 'pushed', branch: target, commit };
  }

  private async remoteHead(branch: string): Promise<string | undefined> {
    const listed = await this.remote(['ls-remote', this.options.url, `refs/heads/${branch}`]);
    return listed
      .split('\n')
      .map((line) => line.split('\t'))
      .find(([, name]) => name === `refs/heads/${branch}`)?.[0];
  }

  private async isAncestor(earlier: string, later: string): Promise<boolean> {
    return this.local(['merge-base', '--is-ancestor', earlier, later]).then(
      () => true,
      (error) => {
        if (exitCode(error) === 1) return false;
        throw error;
      },
    );
  }

  private async hasMergeBase(a: string, b: string): Promise<boolean> {
    return this.local(['merge-base', a, b]).then(
      () => true,
      (error) => {
        if (exitCode(error) === 1) return false;
        throw error;
      },
    );
  }

  private async resolve(ref: string): Promise<string> {
    return (await this.local(['rev-parse', '--verify', '-q', `${ref}^{commit}`])).trim();
  }

  /** A command on berth's repository alone: no config but berth's, no hooks. */
  private local(args: string[], inRepo = true, env: NodeJS.ProcessEnv = {}): Promise<string> {
    const where = inRepo ? ['--git-dir', this.repo] : [];
    return runGit([...where, ...SAFE_CONFIG, ...args], { env: { ...ISOLATED_ENV, ...env } });
  }

  /** A command that talks to the remote: the user's config for SSH and credentials, but no hooks, signing or gc. */
  private remote(args: string[]): Promise<string> {
    return runGit(['--git-dir', this.repo, ...SAFE_CONFIG, ...args], { url: this.options.url });
  }
}

function exitCode(error: unknown): number | undefined {
  return ((error as GitError).cause as { code?: number } | undefined)?.code;
}
