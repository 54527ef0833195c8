/**
 * The manifests of a branch of a git repository, kept under `<state-dir>/<namespace>/git/`: a bare
 * repository fetched shallowly (`repo.git`), each fetched commit's tree checked out whole into
 * `trees/<sha>`, and `current`, a symlink swapped atomically to the newest tree, so a reader never
 * sees half a tree. `manifestsDir` (`current/<path>`) is what the controller reads.
 *
 * Each look first asks the remote for the branch's head alone (`git ls-remote`, a few hundred
 * bytes); it fetches only when the head moved. A failure (remote gone, credentials refused, branch
 * deleted, a commit without a trusted signature) changes nothing that runs: the last good tree
 * stays, the condition says what is wrong and since when, and the look is retried with backoff.
 *
 * Who last changed each manifest file (`files.json`): the clone is shallow, so each applied head's
 * blob per file under `path` is compared with the previous applied head's; a file whose blob
 * changed is credited to the newest commit between the two heads that touched it (`git log`
 * over what was fetched), else to the new head. A file already in the first tree berth fetched
 * has no known author until it changes.
 */
import { lstat, mkdir, readFile, readdir, realpath, rename, rm, symlink } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import { writeFileAtomically } from '../../util/atomic-file.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { describeCommit, type AppliedTree, type Commit, type SourceCondition } from '../types.js';
import { formatMiB, GitError, runGit } from './git-command.js';
import { redactUrl } from './redact-url.js';
import { checkCommitSignature, type SignatureTrust } from './signature.js';

interface GitSourceOptions {
  url: string;
  branch: string;
  /** Directory inside the repository holding the manifests ('' for its root). */
  path: string;
  intervalMs: number;
  /** `<state-dir>/<namespace>/git`. */
  dir: string;
  /** With it, only a head signed by a key of this list is applied (signature.ts). */
  signatures?: SignatureTrust;
  /** The most a commit's tree may hold, in bytes (--git-max-tree-mib); a fetch's pack may be twice that. */
  maxTreeBytes?: number;
}

/** --git-max-tree-mib's default: 512 MiB. */
export const DEFAULT_MAX_TREE_BYTES = 512 * 1024 * 1024;
/** The most files a commit's tree may hold. */
export const MAX_TREE_FILES = 100_000;

interface GitSourceDeps {
  clock: Clock;
  logger: Logger;
  /** A new tree is in place: read it. */
  onTree(commit: Commit): void;
  /** The condition changed (for the state file). */
  onCondition(condition: SourceCondition): void;
  /** The branch moved to a commit that does not descend from the applied one (a force-push, a rollback of the branch). */
  onDiverged?(applied: Commit, next: Commit): void;
}

/** The first retry after a failure; it doubles up to the interval. */
const FIRST_RETRY_MS = 1_000;

/** A manifest file of the applied tree (path from the repository's root): its blob, and the commit that last changed it when known. */
interface FileRecord {
  blob: string;
  changedBy?: Commit;
}

/** `files.json`: the applied commit's files under `path`. */
interface FileRecords {
  commit: string;
  files: Record<string, FileRecord>;
}

const COMMIT_FORMAT = '%H%x1f%s%x1f%an%x1f%cI';

export class GitSource {
  private current: Commit | undefined;
  private condition: SourceCondition;
  private failures = 0;
  private rejected: string | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private cancelTimer: (() => void) | undefined;
  private stopped = false;
  /** Who last changed each file of the applied tree; undefined before the first tree. */
  private files: FileRecords | undefined;
  private tree: AppliedTree | undefined;
  /** True while `current` is being swapped: a read now cannot tell which tree it saw. */
  private swapping = false;

  constructor(
    private readonly options: GitSourceOptions,
    private readonly deps: GitSourceDeps,
  ) {
    this.condition = { url: redactUrl(options.url), branch: options.branch, path: options.path };
  }

  /** The checkout of the applied commit: every file a manifest names lies inside it. */
  get checkoutDir(): string {
    return join(this.options.dir, 'current');
  }

  get manifestsDir(): string {
    return join(this.options.dir, 'current', this.options.path);
  }

  /** The commit whose tree is in place now. */
  commit(): Commit | undefined {
    return this.current;
  }

  /**
   * The tree in place now (a new object at each swap, so a reader can tell whether the tree it
   * read is still the one in place), 'swapping' while `current` is being swapped, undefined
   * before any tree.
   */
  applied(): AppliedTree | 'swapping' | undefined {
    return this.swapping ? 'swapping' : this.tree;
  }

  status(): SourceCondition {
    return this.condition;
  }

  /** Picks up the tree a previous berth left, if any (so a start with the remote down serves it). */
  async load(): Promise<void> {
    const saved = await readFile(join(this.options.dir, 'commit.json'), 'utf8').then(
      (text) => JSON.parse(text) as Commit,
      () => undefined,
    );
    if (saved) {
      this.current = saved;
      // A record of another commit (an older berth, a stop mid-swap) keeps what still holds: each file whose blob is the same.
      const records = await readFile(join(this.options.dir, 'files.json'), 'utf8').then(
        (text) => JSON.parse(text) as FileRecords,
        () => undefined,
      );
      const blobs = await this.blobs(join(this.options.dir, 'repo.git'), saved.sha).catch(() => undefined);
      if (blobs)
        this.files = {
          commit: saved.sha,
          files: Object.fromEntries(
            [...blobs].map(([path, blob]) => [
              path,
              records?.files[path]?.blob === blob ? records.files[path] : { blob },
            ]),
          ),
        };
      this.tree = this.treeOf(saved);
      this.update({ commit: saved });
    }
  }

  /** The first look now, then one per interval. */
  async start(): Promise<void> {
    await this.look();
  }

  /** Look at the remote now (a webhook, `berth sync`); looks already under way are coalesced. */
  fetchNow(): Promise<void> {
    return this.look();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    await this.running?.catch(() => undefined);
  }

  private look(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.cancelTimer?.();
    this.running = (async () => {
      do {
        this.again = false;
        await this.lookOnce();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
      this.schedule();
    });
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    const { intervalMs } = this.options;
    const delay = this.failures === 0 ? intervalMs : Math.min(intervalMs, FIRST_RETRY_MS * 2 ** (this.failures - 1));
    this.cancelTimer = this.deps.clock.schedule(() => void this.look(), delay);
  }

  private async lookOnce(): Promise<void> {
    const { url, branch } = this.options;
    try {
      const head = await this.remoteHead();
      if (head === this.current?.sha || head === this.rejected) {
        this.succeeded(head === this.rejected ? this.condition.error : undefined);
        return;
      }
      const commit = await this.fetch(head);
      this.succeeded();
      this.deps.logger.info(
        { source: 'git', commit: commit.sha, url: redactUrl(url), branch },
        `Fetched ${redactUrl(url)}@${branch}: ${describeCommit(commit)}`,
      );
      this.deps.onTree(commit);
    } catch (error) {
      this.failed(error);
    }
  }

  private async remoteHead(): Promise<string> {
    const { url, branch } = this.options;
    let out: string;
    try {
      out = await runGit(['ls-remote', '--exit-code', url, `refs/heads/${branch}`], { url });
    } catch (error) {
      const code = ((error as GitError).cause as { code?: number } | undefined)?.code;
      if (code === 2) throw new GitError(`branch ${branch} is not on ${redactUrl(url)} (deleted?)`);
      throw error;
    }
    const sha = out.trim().split(/\s+/)[0] ?? '';
    if (!/^[0-9a-f]{40,64}$/.test(sha)) throw new GitError(`${redactUrl(url)} answered no commit for ${branch}`);
    return sha;
  }

  /** Fetches `head`, checks it out into its own tree and swaps `current` to it. */
  private async fetch(head: string): Promise<Commit> {
    const { url, branch, dir, signatures } = this.options;
    const maxTreeBytes = this.options.maxTreeBytes ?? DEFAULT_MAX_TREE_BYTES;
    const maxFileBytes = 2 * maxTreeBytes;
    const repo = join(dir, 'repo.git');
    await mkdir(join(dir, 'trees'), { recursive: true, mode: 0o700 });
    await runGit(['init', '--bare', '-q', repo]);
    const applied = this.current;
    const refspec = `+refs/heads/${branch}:refs/berth/head`;
    // Since the applied commit's time, so whether the new head descends from it can be told; a head older than that has none to give.
    const since = applied?.time
      ? await runGit(['--git-dir', repo, 'fetch', '-q', `--shallow-since=${applied.time}`, '--no-tags', url, refspec], {
          url,
          maxFileBytes,
        }).then(
          () => true,
          async (error: unknown) => {
            if (error instanceof GitError && error.tooLarge) await removeCutPacks(repo);
            return false;
          },
        )
      : false;
    if (!since)
      await runGit(['--git-dir', repo, 'fetch', '-q', '--depth', '1', '--no-tags', url, refspec], {
        url,
        maxFileBytes,
      }).catch((error: unknown) => {
        if (error instanceof GitError && error.tooLarge) {
          // The same head would send the same pack: it is refused until the branch moves.
          this.rejected = head;
          return removeCutPacks(repo).then(() => Promise.reject(error));
        }
        throw error;
      });
    const sha = (await runGit(['--git-dir', repo, 'rev-parse', 'refs/berth/head'])).trim();
    if (signatures) {
      const refused = await checkCommitSignature(repo, sha, signatures);
      if (refused !== undefined) {
        this.rejected = head;
        throw new GitError(`commit ${sha.slice(0, 7)} is not applied: ${refused}`);
      }
    }
    const [full = sha, subject = '', author = '', time = ''] = (
      await runGit(['--git-dir', repo, 'log', '-1', `--format=${COMMIT_FORMAT}`, sha])
    )
      .trim()
      .split('\x1f');
    const commit: Commit = { sha: full, subject, author, time };
    // Nothing is written out before the tree's size is known: a small pack can inflate to a full disk.
    const oversize = treeSizeProblem(
      await runGit(['--git-dir', repo, 'ls-tree', '-r', '-l', '-z', sha]),
      maxTreeBytes,
      MAX_TREE_FILES,
    );
    if (oversize !== undefined) {
      this.rejected = head;
      throw new GitError(`commit ${sha.slice(0, 7)} is not applied: ${oversize}`);
    }
    const tree = join(dir, 'trees', sha);
    const temp = `${tree}.tmp-${process.pid}`;
    await rm(temp, { recursive: true, force: true });
    await mkdir(temp, { recursive: true });
    const index = { GIT_INDEX_FILE: `${temp}.index` };
    await runGit(['--git-dir', repo, '--work-tree', temp, 'read-tree', sha], { env: index });
    await runGit(['--git-dir', repo, '--work-tree', temp, 'checkout-index', '-a', '-f'], { env: index });
    await rm(`${temp}.index`, { force: true });
    if (!(await staysInside(temp, this.options.path))) {
      await rm(temp, { recursive: true, force: true });
      this.rejected = head;
      throw new GitError(
        `commit ${sha.slice(0, 7)} is not applied: its ${this.options.path} (--git-path) leads out of the checkout through a symbolic link`,
      );
    }
    const files = await this.changes(repo, applied, commit);
    await writeFileAtomically(join(dir, 'files.json'), `${JSON.stringify(files)}\n`, 0o600);
    await rm(tree, { recursive: true, force: true });
    await rename(temp, tree);
    const link = join(dir, `current.tmp-${process.pid}`);
    await rm(link, { force: true });
    await symlink(join('trees', sha), link);
    this.swapping = true;
    try {
      await rename(link, join(dir, 'current'));
    } finally {
      this.swapping = false;
    }
    this.current = commit;
    this.files = files;
    this.tree = this.treeOf(commit);
    await writeFileAtomically(join(dir, 'commit.json'), `${JSON.stringify(commit)}\n`, 0o600);
    for (const other of await readdir(join(dir, 'trees')))
      if (other !== sha) await rm(join(dir, 'trees', other), { recursive: true, force: true });
    this.rejected = undefined;
    this.update({ commit });
    if (applied && applied.sha !== commit.sha && !(await descends(repo, applied.sha, commit.sha)))
      this.deps.onDiverged?.(applied, commit);
    return commit;
  }

  /** The files under `path` in `commit`, each with who last changed it: kept where its blob is the applied tree's, else found between the two heads. */
  private async changes(repo: string, applied: Commit | undefined, commit: Commit): Promise<FileRecords> {
    const blobs = await this.blobs(repo, commit.sha);
    const before = this.files;
    const changed = new Set(
      [...blobs]
        .filter(([path, blob]) => before !== undefined && before.files[path]?.blob !== blob)
        .map(([path]) => path),
    );
    const credited =
      changed.size > 0 && applied
        ? await this.lastChanges(repo, applied.sha, commit.sha, changed)
        : new Map<string, Commit>();
    const files: Record<string, FileRecord> = {};
    for (const [path, blob] of blobs) {
      const was = before?.files[path];
      files[path] =
        was?.blob === blob ? was : changed.has(path) ? { blob, changedBy: credited.get(path) ?? commit } : { blob };
    }
    return { commit: commit.sha, files };
  }

  /** Blob id per file under `path` in `sha` (paths from the repository's root). */
  private async blobs(repo: string, sha: string): Promise<Map<string, string>> {
    const out = await runGit([
      '--git-dir',
      repo,
      'ls-tree',
      '-r',
      '-z',
      '--full-tree',
      sha,
      ...(this.options.path ? ['--', this.options.path] : []),
    ]);
    const blobs = new Map<string, string>();
    for (const entry of out.split('\0')) {
      const match = /^\d+ blob ([0-9a-f]+)\t(.+)$/s.exec(entry);
      if (match) blobs.set(match[2]!, match[1]!);
    }
    return blobs;
  }

  /**
   * For each of `paths`, the newest commit after `from` up to `to` that changed it, as far as the
   * fetched history shows (a shallow boundary's commit, whose parents were not fetched, is not
   * credited: it would seem to add every file).
   */
  private async lastChanges(repo: string, from: string, to: string, paths: Set<string>): Promise<Map<string, Commit>> {
    const credited = new Map<string, Commit>();
    const boundary = new Set(
      (await readFile(join(repo, 'shallow'), 'utf8').catch(() => '')).split('\n').filter(Boolean),
    );
    const out = await runGit([
      '--git-dir',
      repo,
      '-c',
      'core.quotePath=false',
      'log',
      '--no-renames',
      `--format=%x1e${COMMIT_FORMAT}`,
      '--name-only',
      to,
      `^${from}`,
      '--',
      ...(this.options.path ? [this.options.path] : []),
    ]).catch(() => '');
    for (const entry of out.split('\x1e').slice(1)) {
      const [header = '', ...names] = entry.split('\n');
      const [sha = '', subject = '', author = '', time = ''] = header.split('\x1f');
      if (boundary.has(sha)) continue;
      for (const name of names)
        if (paths.has(name) && !credited.has(name)) credited.set(name, { sha, subject, author, time });
    }
    return credited;
  }

  private treeOf(commit: Commit): AppliedTree {
    const files = this.files?.files ?? {};
    const checkout = this.checkoutDir;
    return {
      commit,
      changedBy: (file) => {
        const inside = relative(checkout, file);
        return inside.startsWith('..') || isAbsolute(inside)
          ? undefined
          : files[inside.split(sep).join(posix.sep)]?.changedBy;
      },
    };
  }

  private succeeded(keepError?: string): void {
    const recovered = this.condition.error !== undefined && keepError === undefined;
    this.failures = 0;
    if (recovered)
      this.deps.logger.info({ source: 'git' }, `${redactUrl(this.options.url)}@${this.options.branch} answers again`);
    const { error: _e, errorSince: _s, ...rest } = this.condition;
    this.condition = {
      ...rest,
      checkedAt: this.deps.clock.now(),
      ...(keepError !== undefined
        ? { error: keepError, errorSince: this.condition.errorSince ?? this.deps.clock.now() }
        : {}),
    };
    this.deps.onCondition(this.condition);
  }

  private failed(error: unknown): void {
    this.failures += 1;
    const message = error instanceof GitError ? error.message : (error as Error).message;
    if (message !== this.condition.error) {
      this.deps.logger.warn(
        { source: 'git', url: redactUrl(this.options.url), branch: this.options.branch, reason: message },
        `git source: ${message}; keeping ${this.current ? describeCommit(this.current) : 'no tree yet'}, retrying with backoff`,
      );
    }
    this.update({ error: message, errorSince: this.condition.errorSince ?? this.deps.clock.now() });
  }

  private update(patch: Partial<SourceCondition>): void {
    this.condition = { ...this.condition, ...patch };
    this.deps.onCondition(this.condition);
  }
}

/** Whether `later` has `earlier` among its ancestors in what was fetched (`git merge-base --is-ancestor`). */
async function descends(repo: string, earlier: string, later: string): Promise<boolean> {
  return runGit(['--git-dir', repo, 'merge-base', '--is-ancestor', earlier, later]).then(
    () => true,
    () => false,
  );
}

/** Whether `path` inside the checkout `tree` resolves (links followed) inside it; a path not there is judged by the reader. */
async function staysInside(tree: string, path: string): Promise<boolean> {
  if (path === '') return true;
  const [root, target] = await Promise.all([realpath(tree), realpath(join(tree, path)).catch(() => undefined)]);
  if (target === undefined)
    return !(await lstat(join(tree, path)).then(
      (s) => s.isSymbolicLink(),
      () => false,
    ));
  const inside = relative(root, target);
  return inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside);
}

/**
 * Why a tree listed by `git ls-tree -r -l -z` is too large to check out, or undefined. Pure.
 * Each entry is `<mode> <type> <object> <size>\t<path>`; a submodule (`commit`) has no size.
 */
export function treeSizeProblem(listing: string, maxBytes: number, maxFiles: number): string | undefined {
  let files = 0;
  let bytes = 0;
  for (const entry of listing.split('\0')) {
    if (entry === '') continue;
    files++;
    const size = Number(/^\S+ \S+ \S+ +(\d+)\t/.exec(entry)?.[1] ?? 0);
    bytes += size;
  }
  if (files > maxFiles)
    return `its tree holds ${files.toLocaleString('en-US')} files, over berth's bound of ${maxFiles.toLocaleString('en-US')}`;
  if (bytes > maxBytes) return `its tree holds ${formatMiB(bytes)}, over --git-max-tree-mib (${formatMiB(maxBytes)})`;
  return undefined;
}

/** Removes the packs a fetch cut at its bound left behind (`objects/pack/tmp_pack_*`). */
async function removeCutPacks(repo: string): Promise<void> {
  const packs = join(repo, 'objects', 'pack');
  const cut = (await readdir(packs).catch(() => [] as string[])).filter((name) => name.startsWith('tmp_pack_'));
  await Promise.all(cut.map((name) => rm(join(packs, name), { force: true })));
}
