import { strict as assert } from 'node:assert';
import { describePlan } from '../../../src/cli/commands/plan.js';
import type { Plan } from '../../../src/reconcile/docker/actions.js';

describe('berth plan output (describePlan)', () => {
  it('says an app only an invalid manifest names is invalid and that nothing changes, not "gone"', () => {
    const problem = '/m/web.yaml:3:5: spec.tag must be a string';
    const text = describePlan('web', { actions: [], outcome: { phase: 'Invalid', message: problem } });
    assert.equal(text, `web: invalid, nothing changes for it: ${problem}\n`);
  });

  it('lists route, unroute and untag actions with their reasons', () => {
    const plan: Plan = {
      actions: [
        { type: 'route', endpoints: ['127.0.0.1:32768'], reason: 'the proxy has no route for the app' },
        { type: 'untag', refs: ['127.0.0.1:5000/team/web:v1'], reason: 'older than the last 5 deployed revisions' },
      ],
      outcome: { phase: 'Running', message: '1 × dokku/web:v2 running' },
    };
    assert.deepEqual(describePlan('web', plan).trimEnd().split('\n'), [
      'web: repair',
      '  → route the proxy to 127.0.0.1:32768  (the proxy has no route for the app)',
      '  - untag 127.0.0.1:5000/team/web:v1  (older than the last 5 deployed revisions)',
    ]);
    const removal: Plan = {
      actions: [{ type: 'unroute', reason: 'its manifest was removed' }],
      outcome: { phase: 'Running', message: 'removed' },
      gone: true,
    };
    assert.equal(
      describePlan('old', removal),
      'old: remove (manifest gone)\n  - remove the proxy route  (its manifest was removed)\n',
    );
  });
});
