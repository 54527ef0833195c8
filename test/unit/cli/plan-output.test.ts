import { strict as assert } from 'node:assert';
import { describePreview } from '../../../src/cli/commands/plan.js';
import type { AppPreview } from '../../../src/reconcile/core/reconciler.js';

/** A preview with nothing to do unless `patch` says otherwise. */
function preview(patch: Partial<AppPreview> & Pick<AppPreview, 'plan'>): AppPreview {
  return { diff: [], steps: [], notes: [], ...patch };
}

const running = { phase: 'Running' as const, message: '1 × example/web:v2 running' };

describe('berth plan output (describePreview)', () => {
  it('says an app only an invalid manifest names is invalid and that nothing changes, not "gone"', () => {
    const problem = '/m/web.yaml:3:5: spec.tag must be a string';
    const text = describePreview('web', preview({ plan: { outcome: { phase: 'Invalid', message: problem } } }));
    assert.equal(text, `web: invalid, nothing changes for it: ${problem}\n`);
  });

  it('prints the headline, then the diff, then one line per step with its reason, then the notes, indented alike', () => {
    const text = describePreview(
      'web',
      preview({
        plan: {
          outcome: running,
          rollout: { revision: 'r', imageId: 'sha256:1', image: 'example/web', tag: 'v2', strategy: 'zero-downtime' },
        },
        diff: [{ change: '~', field: 'image', text: 'example/web:v1 -> example/web:v2' }],
        steps: [
          { symbol: '↓', text: 'pull example/web:v2', reason: 'not on this host' },
          { symbol: '+', text: 'create web-2', reason: 'deploy example/web:v2' },
        ],
        notes: ['… old containers retire in 5s'],
      }),
    );
    assert.deepEqual(text.trimEnd().split('\n'), [
      'web: deploy example/web:v2 (zero-downtime)',
      '  ~ image     example/web:v1 -> example/web:v2',
      '  ↓ pull example/web:v2  (not on this host)',
      '  + create web-2  (deploy example/web:v2)',
      '  … old containers retire in 5s',
    ]);
  });

  it('heads an app by what its steps do: repair, remove, gone, refused, up to date', () => {
    const step = { symbol: '-', text: 'remove the proxy route', reason: 'its manifest was removed' };
    const headline = (patch: Partial<AppPreview> & Pick<AppPreview, 'plan'>) =>
      describePreview('web', preview(patch)).split('\n')[0];
    assert.equal(headline({ plan: { outcome: running }, steps: [step] }), 'web: repair');
    assert.equal(headline({ plan: { outcome: running, gone: true }, steps: [step] }), 'web: remove (manifest gone)');
    assert.equal(headline({ plan: { outcome: running, gone: true } }), 'web: gone');
    assert.equal(
      headline({ plan: { outcome: running, refused: 'the digest changed' }, steps: [step] }),
      'web: refused: the digest changed',
    );
    assert.equal(headline({ plan: { outcome: running } }), 'web: up to date: Running, 1 × example/web:v2 running');
  });

  it('says an app whose only line is a note is up to date, the note under it', () => {
    const text = describePreview(
      'web',
      preview({ plan: { outcome: running }, notes: ['… Swarm is rolling it out now; a pass watches it to its end'] }),
    );
    assert.equal(
      text,
      'web: up to date: Running, 1 × example/web:v2 running\n  … Swarm is rolling it out now; a pass watches it to its end\n',
    );
  });
});
