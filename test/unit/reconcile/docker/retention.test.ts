import { strict as assert } from 'node:assert';
import { releasableTags } from '../../../../src/reconcile/docker/retention.js';
import type { DeployRecord } from '../../../../src/state/types.js';

const deploy = (tag: string, outcome: DeployRecord['outcome'] = 'succeeded', image = 'reg/web'): DeployRecord => ({
  at: 0,
  tag,
  image,
  imageId: `id-${tag}`,
  revision: `rev-${tag}`,
  outcome,
  durationMs: 1,
});

describe('releasableTags (--keep-revisions)', () => {
  const owned = ['reg/web:v1', 'dokku/web:v1', 'reg/web:v2', 'dokku/web:v2', 'reg/web:v3', 'dokku/web:v3'];

  it('keeps the last N distinct deployed revisions, newest first', () => {
    const history = [deploy('v3'), deploy('v2'), deploy('v2'), deploy('v1')];
    assert.deepEqual(releasableTags({ history, owned, keep: 2, localRepository: 'dokku/web' }), [
      'reg/web:v1',
      'dokku/web:v1',
    ]);
    assert.deepEqual(releasableTags({ history, owned, keep: 3, localRepository: 'dokku/web' }), []);
  });

  it('does not count failed deploys as revisions to keep', () => {
    const history = [deploy('v3', 'failed'), deploy('v2'), deploy('v1')];
    assert.deepEqual(releasableTags({ history, owned, keep: 1, localRepository: 'dokku/web' }), [
      'reg/web:v1',
      'dokku/web:v1',
      'reg/web:v3',
      'dokku/web:v3',
    ]);
  });

  it('never releases the image the manifest names now, nor anything it does not own', () => {
    const history = [deploy('v2'), deploy('v1')];
    assert.deepEqual(
      releasableTags({
        history,
        owned: ['reg/web:v1', 'reg/web:v3'],
        keep: 1,
        localRepository: 'dokku/web',
        desired: { image: 'reg/web', tag: 'v3' },
      }),
      ['reg/web:v1'],
    );
  });
});
