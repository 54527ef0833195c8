import { strict as assert } from 'node:assert';
import { statusTables } from '../../../src/cli/status-table.js';
import { appStatus } from '../../../src/status/app-status.js';
import type { AppRecord } from '../../../src/state/types.js';
import { containerOf, testApp } from '../../support/apps.js';
import { TWO_NODES, taskOf } from '../../support/tasks.js';

const now = Date.parse('2026-11-27T09:00:00Z');
const record: AppRecord = {
  phase: 'Running',
  message: '2 × reg/web:v2 running',
  since: now - 60_000,
  desiredTag: 'v2',
  servingRevision: 'h2@sha256:d2',
  servingImageId: 'sha256:d2',
  servingTag: 'v2',
  history: [
    {
      at: now - 60_000,
      tag: 'v2',
      image: 'reg/web',
      imageId: 'sha256:d2',
      revision: 'h2@sha256:d2',
      outcome: 'succeeded',
      durationMs: 3_000,
    },
  ],
};

describe('status tables (berth status)', () => {
  it('on one host: one line per app, and no task table', () => {
    const web = appStatus('web', { ...record, servingRevision: undefined }, [containerOf(testApp('web'), 'sha256:d2')]);
    const lines = statusTables([web], now).trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^APP\s+DESIRED\s+RUNNING\s+PHASE\s+AGE\s+MESSAGE$/);
    assert.match(lines[1]!, /^web\s+v2\s+v2\s+Running\s+60s\s+2 × reg\/web:v2 running$/);
  });

  it('on Swarm: the app line as on one host, then a line per task with its node, address, state, tag and error', () => {
    const [alpha, beta] = TWO_NODES as [(typeof TWO_NODES)[0], (typeof TWO_NODES)[0]];
    const tasks = [
      taskOf({ id: 't1', slot: 1, nodeId: alpha.id }),
      taskOf({ id: 't2', slot: 2, nodeId: beta.id, state: 'starting', error: 'unhealthy container' }),
      taskOf({
        id: 't0',
        slot: 2,
        nodeId: beta.id,
        desiredState: 'shutdown',
        specHash: 'h1',
        image: 'reg/web:v1@sha256:d1',
      }),
    ];
    const web = appStatus('web', record, { tasks, nodes: TWO_NODES });
    const [apps, replicas] = statusTables([web], now).split('\n\n');
    assert.match(apps!, /\nweb\s+v2\s+v2\s+Running\s+/);
    assert.deepEqual(
      replicas!
        .trimEnd()
        .split('\n')
        .map((line) => line.split(/\s{2,}/)),
      [
        ['TASK', 'NODE', 'ADDRESS', 'STATE', 'REVISION', 'ERROR'],
        ['web.1', 'alpha', '10.0.0.5', 'running', 'v2'],
        ['web.2', 'beta', '10.0.0.6', 'starting', 'v2', 'unhealthy container'],
        ['web.2', 'beta', '10.0.0.6', 'running (to shutdown)', 'h1'],
      ],
    );
  });
});
