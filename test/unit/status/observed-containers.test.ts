import { strict as assert } from 'node:assert';
import type { ContainerSummary, Runtime } from '../../../src/runtime/types.js';
import { ObservedContainers, observingRuntime } from '../../../src/status/observed-containers.js';

function container(app: string, id: string, state: ContainerSummary['state'] = 'running'): ContainerSummary {
  return {
    id,
    name: `ns.${app}.${id}`,
    app,
    specHash: 'h',
    replica: 0,
    imageId: 'sha256:i',
    state,
    labels: {},
    createdAt: 1,
    ports: [],
  };
}

const ids = (observed: ObservedContainers) => observed.containers()?.map((c) => `${c.id}:${c.state}`);

/** A runtime whose lists answer when the test says so, in any order. */
function manualRuntime() {
  const pending: { app: string | undefined; resolve: (list: ContainerSummary[]) => void }[] = [];
  const calls: string[] = [];
  const runtime = {
    listContainers(_namespace: string, app?: string) {
      calls.push(`list ${app ?? '*'}`);
      return new Promise<ContainerSummary[]>((resolve) => pending.push({ app, resolve }));
    },
    async startContainer(id: string) {
      calls.push(`start ${id}`);
    },
    async stopContainer(id: string) {
      calls.push(`stop ${id}`);
    },
    async removeContainer(id: string) {
      calls.push(`remove ${id}`);
    },
    async ping() {
      calls.push('ping');
      return { engineVersion: 'x', apiVersion: '1.41' };
    },
  } as unknown as Runtime;
  return { runtime, pending, calls };
}

describe("ObservedContainers: the controller's last look at the containers, for the status endpoints", () => {
  it('knows nothing before a whole-namespace list, then what the lists said', async () => {
    const observed = new ObservedContainers('ns');
    const { runtime, pending } = manualRuntime();
    const wrapped = observingRuntime(runtime, observed);
    assert.equal(observed.containers(), undefined);
    const whole = wrapped.listContainers('ns');
    pending.shift()!.resolve([container('web', 'a'), container('api', 'b')]);
    assert.equal((await whole).length, 2, 'the caller gets the list itself');
    assert.deepEqual(ids(observed), ['a:running', 'b:running']);
    const one = wrapped.listContainers('ns', 'web');
    pending.shift()!.resolve([container('web', 'a', 'exited'), container('web', 'c')]);
    await one;
    assert.deepEqual(ids(observed), ['a:exited', 'c:running', 'b:running']);
  });

  it('never lets a list that began earlier overwrite what a later one said', async () => {
    const observed = new ObservedContainers('ns');
    const { runtime, pending } = manualRuntime();
    const wrapped = observingRuntime(runtime, observed);
    const slowWhole = wrapped.listContainers('ns');
    const quickApp = wrapped.listContainers('ns', 'web');
    pending[1]!.resolve([container('web', 'new')]);
    await quickApp;
    pending[0]!.resolve([container('web', 'old'), container('api', 'b')]);
    await slowWhole;
    assert.deepEqual(
      ids(observed),
      ['new:running', 'b:running'],
      'web as the later list saw it; api from the whole list',
    );

    const earlyApp = wrapped.listContainers('ns', 'gone');
    const lateWhole = wrapped.listContainers('ns');
    pending[3]!.resolve([container('web', 'new')]);
    await lateWhole;
    pending[2]!.resolve([container('gone', 'x')]);
    await earlyApp;
    assert.deepEqual(ids(observed), ['new:running'], 'the later whole list saw no "gone" and no api');
  });

  it('follows what berth does itself: starts, stops and removes', async () => {
    const observed = new ObservedContainers('ns');
    const { runtime, pending } = manualRuntime();
    const wrapped = observingRuntime(runtime, observed);
    const changes: number[] = [];
    observed.onChange(() => changes.push(1));
    const whole = wrapped.listContainers('ns');
    pending.shift()!.resolve([container('web', 'a', 'created'), container('web', 'b')]);
    await whole;
    await wrapped.startContainer('a');
    await wrapped.stopContainer('b', 1);
    assert.deepEqual(ids(observed), ['a:running', 'b:exited']);
    // A list that began before the stop and ends after it is older than what berth knows.
    const stale = wrapped.listContainers('ns', 'web');
    await wrapped.removeContainer('b');
    pending.shift()!.resolve([container('web', 'a'), container('web', 'b')]);
    await stale;
    assert.deepEqual(ids(observed), ['a:running']);
    assert.equal(changes.length, 4, 'the first list, start, stop, remove (the stale list changed nothing)');
  });

  it('passes other namespaces and every other call through untouched', async () => {
    const observed = new ObservedContainers('ns');
    const { runtime, pending, calls } = manualRuntime();
    const wrapped = observingRuntime(runtime, observed);
    const other = wrapped.listContainers('other');
    pending.shift()!.resolve([container('web', 'a')]);
    await other;
    assert.equal(observed.containers(), undefined);
    await wrapped.ping();
    assert.deepEqual(calls, ['list *', 'ping']);
  });
});
