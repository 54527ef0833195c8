/**
 * A git branch as the manifests' source (--git): for `run`, the GitSource that follows it, its
 * checkout under the namespace's state directory, its condition in the state file and its
 * failures, recoveries and force-pushes said as events; for `plan`, the branch's head fetched
 * once into a temporary directory.
 */
import { join } from 'node:path';
import type { EventSink } from '../../events/types.js';
import type { GitSource } from '../../source/git/git-source.js';
import { redactUrl } from '../../source/git/redact-url.js';
import type { Commit } from '../../source/types.js';
import { StateStore } from '../../state/store.js';
import { systemClock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { silentLogger } from '../../util/silent-logger.js';
import type { GitSettings } from '../git-options.js';

/** The branch as people read it: `URL@branch[:path]`, the URL's credentials redacted. */
export function branchLabel(git: GitSettings): string {
  return `${redactUrl(git.url)}@${git.branch}${git.path ? `:${git.path}` : ''}`;
}

/** The branch `run` follows. */
export interface FollowedBranch {
  /** Loaded (the tree a previous berth left is in place); start() makes the first look. */
  source: GitSource;
  /** `listener` is called each time a new tree is in place (the controller reads it). */
  onTree(listener: () => void): void;
}

/** The GitSource of `run`, loaded; its condition goes to `state`, what befalls it to `events`. */
export async function followedBranch(
  git: GitSettings,
  shared: { stateDir: string; namespace: string },
  logger: Logger,
  parts: { state: Pick<StateStore, 'source' | 'setSource'>; events: EventSink },
): Promise<FollowedBranch> {
  const { GitSource } = await import('../../source/git/git-source.js');
  const { state, events } = parts;
  const treeListeners: (() => void)[] = [];
  let failing = state.source()?.error;
  const source = new GitSource(
    {
      url: git.url,
      branch: git.branch,
      path: git.path,
      intervalMs: git.intervalSeconds * 1000,
      dir: join(StateStore.directory(shared.stateDir, shared.namespace), 'git'),
      maxTreeBytes: git.maxTreeBytes,
      ...(git.signatures ? { signatures: git.signatures } : {}),
    },
    {
      clock: systemClock,
      logger,
      onTree: () => {
        for (const listener of treeListeners) listener();
      },
      onDiverged: (applied, next) =>
        events.emit({
          type: 'source.diverged',
          message: `${redactUrl(git.url)}@${git.branch} moved from ${applied.sha.slice(0, 7)} to ${next.sha.slice(0, 7)}, which does not descend from it (a force-push, or the branch set back); applying ${next.sha.slice(0, 7)}`,
          details: { url: redactUrl(git.url), branch: git.branch, from: applied.sha, to: next.sha, commit: next.sha },
        }),
      onCondition: (condition) => {
        state.setSource(condition);
        if (condition.error !== undefined && failing === undefined)
          events.emit({
            type: 'source.failed',
            message: `${condition.url}@${condition.branch}: ${condition.error}`,
            details: { url: condition.url, branch: condition.branch, reason: condition.error },
          });
        if (condition.error === undefined && failing !== undefined)
          events.emit({
            type: 'source.recovered',
            message: `${condition.url}@${condition.branch} answers again`,
            details: { url: condition.url, branch: condition.branch },
          });
        failing = condition.error;
      },
    },
  );
  await source.load();
  return { source, onTree: (listener) => void treeListeners.push(listener) };
}

/** The head `plan --git` fetched: its checkout, and why it would not be applied, if so. */
export interface FetchedHead {
  commit: Commit;
  /** Where the manifests are (`path` inside the checkout). */
  manifestsDir: string;
  /** The checkout: every file a manifest names lies inside it. */
  checkoutDir: string;
  /** Set when the head is not what `run` would apply (an unsigned commit, say). */
  notApplied?: string;
}

/**
 * For `plan --git`: the branch's head fetched once into a temporary directory (removed at exit);
 * `{ unreadable }` says why there is no commit when the remote cannot be read.
 */
export async function fetchOnce(git: GitSettings): Promise<FetchedHead | { unreadable: string }> {
  const [{ GitSource }, { mkdtemp }, { rmSync }, { tmpdir }] = await Promise.all([
    import('../../source/git/git-source.js'),
    import('node:fs/promises'),
    import('node:fs'),
    import('node:os'),
  ]);
  const dir = await mkdtemp(join(tmpdir(), 'berth-plan-git-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  let error: string | undefined;
  const source = new GitSource(
    {
      url: git.url,
      branch: git.branch,
      path: git.path,
      intervalMs: 3_600_000,
      dir,
      maxTreeBytes: git.maxTreeBytes,
      ...(git.signatures ? { signatures: git.signatures } : {}),
    },
    {
      clock: systemClock,
      logger: silentLogger(),
      onTree: () => undefined,
      onCondition: (condition) => (error = condition.error),
    },
  );
  await source.start();
  await source.stop();
  const commit = source.commit();
  if (!commit) return { unreadable: error ?? 'no commit' };
  return {
    commit,
    manifestsDir: source.manifestsDir,
    checkoutDir: source.checkoutDir,
    ...(error ? { notApplied: error } : {}),
  };
}
