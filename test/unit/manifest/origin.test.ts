import { strict as assert } from 'node:assert';
import { OriginStampingSource, stamp } from '../../../src/manifest/origin.js';
import type { ManifestSet } from '../../../src/manifest/types.js';
import type { AppliedTree, Commit } from '../../../src/source/types.js';
import { testApp } from '../../support/apps.js';

const commit = (sha: string, subject: string): Commit => ({
  sha: sha.repeat(40).slice(0, 40),
  subject,
  author: 'A',
  time: '2026-01-01T00:00:00Z',
});
const treeAt = (head: Commit, changed: Record<string, Commit>): AppliedTree => ({
  commit: head,
  changedBy: (file) => changed[file],
});
const setOf = (...names: string[]): ManifestSet => ({
  apps: new Map(names.map((name) => [name, testApp(name)])),
  problems: [],
  warnings: [],
  collisions: [],
  conflicts: new Map(),
  invalid: new Set(),
  fileCount: names.length,
  directory: 'ok',
});

describe('manifest origins (with a git source)', () => {
  it("stamps each app with the tree's commit and the commit that last changed its own file, on copies", () => {
    const head = commit('b', 'api to v2');
    const set = setOf('web', 'api');
    const stamped = stamp(set, treeAt(head, { '/manifests/web.yaml': commit('a', 'web to v2') }));
    assert.deepEqual(stamped.apps.get('web')?.origin, { commit: head, changedBy: commit('a', 'web to v2') });
    assert.deepEqual(
      stamped.apps.get('api')?.origin,
      { commit: head },
      'a file berth has not seen change has no author',
    );
    assert.equal(set.apps.get('web')?.origin, undefined, "the read (shared with the reader's cache) is not changed");
    assert.equal(stamped.apps.get('web')?.spec, set.apps.get('web')?.spec);
  });

  it('reads again when the tree was swapped during a read, and stamps what the read saw', async () => {
    const first = treeAt(commit('1', 'one'), {});
    const second = treeAt(commit('2', 'two'), {});
    const looks: (AppliedTree | 'swapping')[] = [first, 'swapping', 'swapping', second, second, second];
    let reads = 0;
    const source = new OriginStampingSource(
      { dir: '/manifests', read: async () => (reads++, setOf('web')) },
      { applied: () => looks.shift() ?? second },
    );
    const set = await source.read();
    assert.equal(reads, 3, 'two reads overlapped a swap');
    assert.equal(set.apps.get('web')?.origin?.commit.subject, 'two');
  });

  it('leaves a read without a tree (no commit fetched yet) as it is', async () => {
    const source = new OriginStampingSource(
      { dir: '/manifests', read: async () => setOf('web') },
      { applied: () => undefined },
    );
    assert.equal((await source.read()).apps.get('web')?.origin, undefined);
  });
});
