import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { dump } from 'js-yaml';
import { Controller, ENGINE_EVENT_DELAY_MS } from '../../../src/controller/controller.js';
import { DesiredState } from '../../../src/controller/desired-state.js';
import { ExpectedEvents } from '../../../src/controller/expected-events.js';
import { expectingRuntime } from '../../../src/controller/expecting-runtime.js';
import { WorkQueue } from '../../../src/controller/queue.js';
import { ManifestDirectory } from '../../../src/manifest/load.js';
import { Reconciler } from '../../../src/reconcile/reconciler.js';
import { directTraffic, directUrls, type TrafficRouter } from '../../../src/reconcile/traffic.js';
import type { App } from '../../../src/manifest/types.js';
import { StateStore } from '../../../src/state/store.js';
import { silentLogger } from '../../../src/util/logger.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

const RESYNC_SECONDS = 60;

/** A proxy in memory: each app's endpoints, and which apps' routes were (re)written. */
class MemoryRouter implements TrafficRouter {
  readonly routes = new Map<string, string>();
  readonly written: string[] = [];
  async route(app: App, endpoints: string[]): Promise<void> {
    if (this.routes.get(app.name) === endpoints.join(',')) return;
    this.routes.set(app.name, endpoints.join(','));
    this.written.push(app.name);
  }
  async unroute(name: string): Promise<void> {
    this.routes.delete(name);
  }
  async isRouted(app: App, endpoints: string[]): Promise<boolean> {
    return this.routes.get(app.name) === endpoints.join(',');
  }
  async routed(): Promise<string[]> {
    return [...this.routes.keys()];
  }
  urls(_app: App, endpoints: string[]): string[] {
    return directUrls(endpoints);
  }
}

describe('Controller (in-memory runtime)', () => {
  let root: string;
  let clock: FakeClock;
  let runtime: FakeRuntime;
  let state: StateStore;
  let queue: WorkQueue;
  let controller: Controller;

  async function startWith(apps: number, checksWait = 0, traffic: TrafficRouter = directTraffic): Promise<void> {
    root = await mkdtemp(join(tmpdir(), 'berth-resync-'));
    const manifests = join(root, 'manifests');
    await import('node:fs/promises').then((fs) => fs.mkdir(manifests));
    clock = new FakeClock();
    runtime = new FakeRuntime(clock);
    for (let i = 0; i < apps; i++) {
      runtime.addImage(`dokku/app${i}:v1`);
      const spec = { tag: 'v1', ports: [{ container: 8080 }], checks: { wait: checksWait }, deploy: { retireAfter: 0 } };
      await writeFile(join(manifests, `app${i}.yaml`), dump({ apiVersion: 'berth/v1', kind: 'App', metadata: { name: `app${i}` }, spec }));
    }
    state = await StateStore.open(join(root, 'state'), 'dokku');
    const expected = new ExpectedEvents(clock);
    const acting = expectingRuntime(runtime, expected);
    const desired = new DesiredState(false);
    queue = new WorkQueue(clock);
    const logger = silentLogger();
    const reconciler = new Reconciler(
      { runtime: acting, clock, logger, state, traffic, desired: (name) => desired.get(name) },
      { namespace: 'dokku', proxy: false, stopTimeoutSeconds: 1, keepRevisions: 2 },
    );
    controller = new Controller(
      { runtime: acting, clock, logger, state, desired, reconciler, queue, expected, traffic, manifests: new ManifestDirectory(manifests, { namespace: 'dokku', allowHostPaths: [] }) },
      { namespace: 'dokku', concurrency: 4, resyncSeconds: RESYNC_SECONDS },
    );
    await controller.start();
    if (checksWait === 0) await settled();
  }

  async function settled(): Promise<void> {
    for (let i = 0; i < 10_000 && !queue.isIdle(); i++) await tick();
    assert.ok(queue.isIdle(), 'the controller settles');
  }

  /** Engine calls one periodic resync makes, and what it reconciles. */
  async function resync(): Promise<string[]> {
    runtime.calls.length = 0;
    await clock.advance(RESYNC_SECONDS * 1000);
    // The resync reads the directory from disk first: wait (in real time) for its image list.
    for (let i = 0; i < 200 && !runtime.calls.includes('listImages'); i++) await sleep(10);
    await settled();
    return [...runtime.calls];
  }

  afterEach(async () => {
    await controller.stop();
    await rm(root, { recursive: true, force: true });
  });

  /** Observe rounds of `app` among `calls` (each inspects the app's `latest`); a deploy's reconcile takes two: act, then confirm. */
  const roundsOf = (calls: string[], app: string) => calls.filter((c) => c === `inspectImage dokku/${app}:latest`).length;

  it("does not reconcile an app again for the engine events of berth's own start and removal; a crash does", async () => {
    await startWith(3);
    const calls = [...runtime.calls];
    for (const app of ['app0', 'app1', 'app2']) assert.equal(roundsOf(calls, app), 2, `${app}: one reconcile (act, confirm), not a second for its own start event`);

    runtime.calls.length = 0;
    const [running] = runtime.running('app1');
    runtime.crash(running!.id);
    await clock.advance(ENGINE_EVENT_DELAY_MS);
    await settled();
    assert.ok(roundsOf(runtime.calls, 'app1') >= 1, 'the crash reconciles app1');
    assert.equal(runtime.running('app1').length, 1, 'app1 runs again');
    assert.equal(roundsOf(runtime.calls, 'app0') + roundsOf(runtime.calls, 'app2'), 0, 'the other apps are left alone');
  });

  it('a resync while an app is mid-deploy leaves it to that reconcile instead of queueing it again', async () => {
    await startWith(1, RESYNC_SECONDS + 30);
    for (let i = 0; i < 200 && runtime.running('app0').length === 0; i++) await sleep(5);
    assert.equal(runtime.running('app0').length, 1, 'the new container is up, its check waiting');
    await clock.advance(RESYNC_SECONDS * 1000);
    for (let i = 0; i < 200 && !runtime.calls.includes('listImages'); i++) await sleep(10);
    await clock.advance(30 * 1000);
    await settled();
    assert.equal(roundsOf(runtime.calls, 'app0'), 2, 'one reconcile (act, confirm)');
  });

  for (const apps of [3, 40]) {
    it(`with ${apps} apps in sync, a resync makes two engine calls (one container list, one image list) and reconciles nothing`, async () => {
      await startWith(apps);
      assert.equal(runtime.running().length, apps);
      assert.deepEqual((await resync()).sort(), ['listContainers', 'listImages']);
      assert.deepEqual((await resync()).sort(), ['listContainers', 'listImages'], 'every resync, not only the first');
    });
  }

  it('reconciles only the app whose container stopped without an event reaching berth', async () => {
    await startWith(5);
    const [lost] = runtime.running('app3');
    lost!.state = 'exited';
    const calls = await resync();
    assert.deepEqual(calls.filter((c) => c.startsWith('create')).map((c) => c.split(' ')[1]!.split('.')[1]), ['app3']);
    assert.equal(runtime.running('app3').length, 1, 'app3 runs again');
  });

  it('reconciles the app whose tag was moved to another image while no event reached berth', async () => {
    await startWith(3);
    const moved = `sha256:${'e'.repeat(64)}`;
    runtime.images.set(moved, { id: moved, repoTags: [], repoDigests: [], createdAt: clock.now(), size: 1 });
    runtime.tags.set('dokku/app1:v1', moved);
    const calls = await resync();
    assert.deepEqual(calls.filter((c) => c.startsWith('create')).map((c) => c.split(' ')[1]!.split('.')[1]), ['app1']);
    assert.deepEqual(runtime.running('app1').map((c) => c.imageId), [moved]);
  });

  it("restores a route someone removed from the proxy at the next resync, rewriting only that app's", async () => {
    const router = new MemoryRouter();
    await startWith(3, 0, router);
    assert.deepEqual([...router.routes.keys()].sort(), ['app0', 'app1', 'app2']);
    const endpoints = router.routes.get('app1');
    router.routes.delete('app1');
    router.written.length = 0;
    const calls = await resync();
    assert.deepEqual(router.written, ['app1']);
    assert.equal(router.routes.get('app1'), endpoints, 'the same endpoints as before');
    assert.deepEqual(calls.filter((c) => c.startsWith('create') || c.startsWith('stop')), [], 'no container touched');
    router.written.length = 0;
    await resync();
    assert.deepEqual(router.written, [], 'in sync again: nothing rewritten');
  });
});
