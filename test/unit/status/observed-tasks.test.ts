import { strict as assert } from 'node:assert';
import { ObservedTasks } from '../../../src/status/observed-tasks.js';
import type { SwarmTasks } from '../../../src/status/replicas.js';
import { TWO_NODES, taskOf } from '../../support/tasks.js';

/** A task lister whose answers the test gives, one per call. */
function manualList() {
  const pending: { resolve(answer: SwarmTasks): void; reject(error: Error): void }[] = [];
  let calls = 0;
  const list = () =>
    new Promise<SwarmTasks>((resolve, reject) => {
      calls++;
      pending.push({ resolve, reject });
    });
  return { list, pending, calls: () => calls };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ObservedTasks (the status endpoints on Swarm: the manager task list, never one per request)', () => {
  it('one list at a time for any number of requests, and at most once per max age', async () => {
    let now = 0;
    const { list, pending, calls } = manualList();
    const observed = new ObservedTasks(list, () => now);
    for (let i = 0; i < 10; i++) observed.refreshIfOlder(5_000);
    assert.equal(calls(), 1, 'ten requests, one list');
    assert.equal(observed.current(), undefined, 'nothing known before the first list lands');
    pending.shift()!.resolve({ tasks: [taskOf({ id: 't1', slot: 1, nodeId: TWO_NODES[0]!.id })], nodes: TWO_NODES });
    await observed.settled();
    assert.deepEqual(
      observed.current()?.tasks.map((t) => t.id),
      ['t1'],
    );
    now = 4_999;
    observed.refreshIfOlder(5_000);
    assert.equal(calls(), 1);
    now = 5_000;
    observed.refreshIfOlder(5_000);
    assert.equal(calls(), 2);
  });

  it('a failed list keeps what was known and is not retried before the max age passes', async () => {
    let now = 0;
    const { list, pending, calls } = manualList();
    const observed = new ObservedTasks(list, () => now);
    observed.refreshIfOlder(5_000);
    const known = { tasks: [taskOf({ id: 't1', slot: 1, nodeId: TWO_NODES[0]!.id })], nodes: TWO_NODES };
    pending.shift()!.resolve(known);
    await observed.settled();
    now = 6_000;
    observed.refreshIfOlder(5_000);
    pending.shift()!.reject(new Error('manager lost'));
    await settle();
    assert.equal(observed.current(), known);
    now = 7_000;
    observed.refreshIfOlder(5_000);
    assert.equal(calls(), 2, 'no list per request while the manager fails');
  });

  it('tells its listeners when a list changed what is shown, and only then', async () => {
    let now = 0;
    const { list, pending } = manualList();
    const observed = new ObservedTasks(list, () => now);
    let changes = 0;
    observed.onChange(() => changes++);
    const running = taskOf({ id: 't1', slot: 1, nodeId: TWO_NODES[1]!.id });
    for (const answer of [[running], [{ ...running }], [{ ...running, state: 'failed' as const }]]) {
      observed.refreshIfOlder(5_000);
      pending.shift()!.resolve({ tasks: answer, nodes: TWO_NODES });
      await observed.settled();
      now += 5_000;
    }
    assert.equal(changes, 2, 'the first list and the failed task; not the same list again');
  });
});
