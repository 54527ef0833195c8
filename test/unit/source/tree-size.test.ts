import { strict as assert } from 'node:assert';
import { treeSizeProblem } from '../../../src/source/git/git-source.js';

/** `git ls-tree -r -l -z` output for entries of these sizes (null: a submodule, which has none). */
const listing = (sizes: (number | null)[]) =>
  sizes
    .map((size, i) =>
      size === null
        ? `160000 commit ${'c'.repeat(40)}       -\tvendor/mod${i}`
        : `100644 blob ${'b'.repeat(40)} ${String(size).padStart(7)}\tapps/file ${i}.yaml`,
    )
    .join('\0')
    .concat('\0');

describe('treeSizeProblem (a commit judged before its checkout)', () => {
  it('passes a tree within both bounds, submodules counting as files of no size', () => {
    assert.equal(treeSizeProblem(listing([1_000, 2_000, null]), 3_000, 3), undefined);
    assert.equal(treeSizeProblem('', 1, 1), undefined, 'an empty tree');
  });

  it('refuses a tree over the byte bound, in MiB, and one with too many files', () => {
    assert.equal(
      treeSizeProblem(listing([1024 * 1024, 512 * 1024]), 1024 * 1024, 10),
      'its tree holds 1.5 MiB, over --git-max-tree-mib (1 MiB)',
    );
    assert.equal(treeSizeProblem(listing([1, 1, 1, 1]), 1024, 3), "its tree holds 4 files, over berth's bound of 3");
  });

  it('reads a path with spaces, tabs or newlines as one entry (-z)', () => {
    const odd = [
      `100644 blob ${'b'.repeat(40)}     700\tapps/a\tb\nc.yaml`,
      `100644 blob ${'b'.repeat(40)}     300\tapps/d e.yaml`,
      '',
    ].join('\0');
    assert.equal(treeSizeProblem(odd, 1_000, 2), undefined, '1,000 bytes in 2 files');
    assert.equal(treeSizeProblem(odd, 1_000, 1), "its tree holds 2 files, over berth's bound of 1");
  });
});
