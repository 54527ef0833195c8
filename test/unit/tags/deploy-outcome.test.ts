import { strict as assert } from 'node:assert';
import { deployOutcome } from '../../../src/tags/deploy-outcome.js';
import type { AppRecord } from '../../../src/state/types.js';

const record = (patch: Partial<AppRecord>): AppRecord => ({
  phase: 'Running',
  message: '1 × dokku/web:v1 running',
  since: 1,
  history: [],
  desiredTag: 'v1',
  ...patch,
});

describe('deployOutcome (tags:deploy --wait)', () => {
  const before = record({});

  it('waits until berth has read the new tag', () => {
    assert.equal(deployOutcome(before, 'v2', before).done, false);
    assert.equal(deployOutcome(undefined, 'v2', undefined).done, false);
  });

  it('waits while the new tag deploys or waits for its image', () => {
    assert.equal(deployOutcome(record({ desiredTag: 'v2', phase: 'Deploying', since: 5 }), 'v2', before).done, false);
    assert.equal(deployOutcome(record({ desiredTag: 'v2', phase: 'Pending', since: 5 }), 'v2', before).done, false);
  });

  it('succeeds once the new tag runs', () => {
    assert.deepEqual(
      deployOutcome(record({ desiredTag: 'v2', message: '1 × dokku/web:v2 running', since: 9 }), 'v2', before),
      { done: true, ok: true, message: '1 × dokku/web:v2 running' },
    );
  });

  it('fails with the reason once a failure is recorded after the edit, not for an old failure', () => {
    const degraded = record({
      desiredTag: 'v2',
      phase: 'Degraded',
      message: 'deploy failed: exited',
      lastError: 'deploy failed: exited',
      since: 9,
    });
    assert.deepEqual(deployOutcome(degraded, 'v2', before), {
      done: true,
      ok: false,
      message: 'Degraded: deploy failed: exited',
    });
    assert.equal(
      deployOutcome(degraded, 'v2', degraded).done,
      false,
      'the same failure as before the edit is not the outcome yet',
    );
  });
});
