/**
 * With a git source, each app of a read carries where its manifest came from (`App.origin`): the
 * commit of the tree that read saw, and the commit that last changed the app's file. A reconcile
 * records what its plan was made from, not whatever the branch's head is when it ends.
 *
 * The tree a read saw is the one in place before and after it; a read that a swap of the tree
 * overlapped is read again (the swap is a rename: rare, and over at once).
 */
import type { AppliedTree } from '../source/types.js';
import type { ManifestSet } from './types.js';

/** Reads a swap overlapped before a read is given without origins. */
const ATTEMPTS = 4;
const RETRY_MS = 20;

interface TreeSource {
  /** The tree in place now; 'swapping' while it is being swapped; undefined before any tree. */
  applied(): AppliedTree | 'swapping' | undefined;
}

export class OriginStampingSource {
  constructor(
    private readonly inner: { readonly dir: string; read(): Promise<ManifestSet> },
    private readonly source: TreeSource,
  ) {}

  get dir(): string {
    return this.inner.dir;
  }

  async read(): Promise<ManifestSet> {
    for (let attempt = 1; ; attempt++) {
      const before = this.source.applied();
      const set = await this.inner.read();
      const after = this.source.applied();
      if (before === undefined && after === undefined) return set;
      if (before === after && typeof after === 'object') return stamp(set, after);
      if (attempt >= ATTEMPTS) return set;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

/** A copy of `set` whose apps carry `tree`'s origin (the apps a read gives are shared with the reader's cache: never changed in place). */
export function stamp(set: ManifestSet, tree: AppliedTree): ManifestSet {
  const apps = new Map(
    [...set.apps].map(([name, app]) => {
      const changedBy = tree.changedBy(app.source.file);
      return [name, { ...app, origin: { commit: tree.commit, ...(changedBy ? { changedBy } : {}) } }];
    }),
  );
  return { ...set, apps };
}
