import { strict as assert } from 'node:assert';
import { tasksByDeploy } from '../../../src/status/deploy-tasks.js';
import type { DeployRecord } from '../../../src/state/types.js';
import { TWO_NODES, taskOf } from '../../support/tasks.js';

const deploy = (tag: string, revision: string, at: number): DeployRecord => ({
  at,
  tag,
  image: 'reg/web',
  imageId: revision.split('@')[1]!,
  revision,
  outcome: 'succeeded',
  durationMs: 2_000,
});

describe('where each deploy ran (history --runtime swarm)', () => {
  const [manager, worker] = TWO_NODES.map((n) => n.id) as [string, string];
  const v1 = { specHash: 'h1', image: 'reg/web:v1@sha256:d1' };
  const v2 = { specHash: 'h2', image: 'reg/web:v2@sha256:d2' };

  it("gives each task to its revision's deploy it was made under, with its node; a deploy Swarm keeps no task of gets none", () => {
    // Newest first: v1 again, v2, v1, and a v0 whose tasks Swarm no longer reports.
    const history = [
      deploy('v1', 'h1@sha256:d1', 50_000),
      deploy('v2', 'h2@sha256:d2', 30_000),
      deploy('v1', 'h1@sha256:d1', 10_000),
      deploy('v0', 'h0@sha256:d0', 5_000),
    ];
    const tasks = [
      taskOf({
        id: 'first-v1',
        slot: 1,
        nodeId: manager,
        createdAt: 8_500,
        state: 'shutdown',
        desiredState: 'shutdown',
        ...v1,
      }),
      taskOf({
        id: 'v2-a',
        slot: 1,
        nodeId: manager,
        createdAt: 28_500,
        state: 'shutdown',
        desiredState: 'shutdown',
        ...v2,
      }),
      taskOf({
        id: 'v2-b',
        slot: 2,
        nodeId: worker,
        createdAt: 29_000,
        state: 'shutdown',
        desiredState: 'shutdown',
        ...v2,
      }),
      taskOf({ id: 'again-v1', slot: 1, nodeId: worker, createdAt: 48_500, ...v1 }),
    ];
    const byDeploy = tasksByDeploy(history, { tasks, nodes: TWO_NODES }, undefined);
    assert.deepEqual(
      byDeploy.map((list) => list.map((t) => `${t.id}@${t.node?.name}`)),
      [['again-v1@beta'], ['v2-a@alpha', 'v2-b@beta'], ['first-v1@alpha'], []],
    );
    assert.equal(byDeploy[1]?.[1]?.node?.address, '10.0.0.6');
  });
});
