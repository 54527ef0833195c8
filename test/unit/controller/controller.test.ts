import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { dump } from 'js-yaml';
import { Controller, ENGINE_EVENT_DELAY_MS } from '../../../src/controller/controller.js';
import { DesiredState } from '../../../src/controller/desired-state.js';
import { ExpectedEvents } from '../../../src/controller/expected-events.js';
import { expectingRuntime } from '../../../src/controller/expecting-runtime.js';
import { WorkQueue } from '../../../src/controller/queue.js';
import { ManifestDirectory } from '../../../src/manifest/read/load.js';
import { Reconciler } from '../../../src/reconcile/docker/reconciler.js';
import { directTraffic, directUrls } from '../../../src/proxy/direct.js';
import type { TrafficRouter } from '../../../src/proxy/types.js';
import { EngineEvents } from '../../../src/controller/sources/engine-events.js';
import type { App } from '../../../src/manifest/types.js';
import { StateStore } from '../../../src/state/store.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
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
  async hasRoute(name: string): Promise<boolean> {
    return this.routes.has(name);
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

  let manifests: string;

  async function startWith(apps: number, checksWait = 0, traffic: TrafficRouter = directTraffic): Promise<void> {
    root = await mkdtemp(join(tmpdir(), 'berth-resync-'));
    manifests = join(root, 'manifests');
    await mkdir(manifests);
    clock = new FakeClock();
    runtime = new FakeRuntime(clock);
    for (let i = 0; i < apps; i++) {
      runtime.addImage(`dokku/app${i}:v1`);
      await writeManifest(`app${i}`, {
        tag: 'v1',
        ports: [{ container: 8080 }],
        checks: { wait: checksWait },
        deploy: { retireAfter: 0 },
      });
    }
    await boot(traffic);
    await controller.start();
    if (checksWait === 0) await settled();
  }

  async function writeManifest(name: string, spec: object | string): Promise<void> {
    const text =
      typeof spec === 'string' ? spec : dump({ apiVersion: 'berth/v1', kind: 'App', metadata: { name }, spec });
    await writeFile(join(manifests, `${name}.yaml`), text);
  }

  /** A controller (not started) over this test's directory, runtime and state file. */
  async function boot(traffic: TrafficRouter): Promise<void> {
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
      {
        clock,
        logger,
        state,
        desired,
        reconciler,
        queue,
        events: new EngineEvents('dokku', { runtime: acting, clock, logger, expected }),
        manifests: new ManifestDirectory(manifests, { namespace: 'dokku', allowHostPaths: [] }),
      },
      { concurrency: 4, resyncSeconds: RESYNC_SECONDS },
    );
  }

  /** Stops the controller and starts a new one over the same host and state (berth restarted); returns the engine calls until it settles. */
  async function restart(traffic: TrafficRouter = directTraffic): Promise<string[]> {
    await controller.stop();
    runtime.calls.length = 0;
    await boot(traffic);
    await controller.start();
    await settled();
    return [...runtime.calls];
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

  const created = (calls: string[]) =>
    calls.filter((c) => c.startsWith('create')).map((c) => c.split(' ')[1]!.split('.')[1]);

  /** Observe rounds of `app` among `calls` (each inspects the app's `latest`); a deploy's reconcile takes two: act, then confirm. */
  const roundsOf = (calls: string[], app: string) =>
    calls.filter((c) => c === `inspectImage dokku/${app}:latest`).length;

  it("does not reconcile an app again for the engine events of berth's own start and removal; a crash does", async () => {
    await startWith(3);
    const calls = [...runtime.calls];
    for (const app of ['app0', 'app1', 'app2'])
      assert.equal(
        roundsOf(calls, app),
        2,
        `${app}: one reconcile (act, confirm), not a second for its own start event`,
      );

    runtime.calls.length = 0;
    const [running] = runtime.running('app1');
    runtime.crash(running!.id);
    await clock.advance(ENGINE_EVENT_DELAY_MS);
    await settled();
    assert.ok(roundsOf(runtime.calls, 'app1') >= 1, 'the crash reconciles app1');
    assert.equal(runtime.running('app1').length, 1, 'app1 runs again');
    assert.equal(roundsOf(runtime.calls, 'app0') + roundsOf(runtime.calls, 'app2'), 0, 'the other apps are left alone');
  });

  it('a stop during a resync ends the resyncs: none is scheduled after it, so the process can exit', async () => {
    await startWith(1);
    runtime.calls.length = 0;
    // The resync's look at the host is held until berth has been told to stop.
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const listImages = runtime.listImages.bind(runtime);
    runtime.listImages = async (...args: Parameters<FakeRuntime['listImages']>) => {
      await held;
      return listImages(...args);
    };
    await clock.advance(RESYNC_SECONDS * 1000);
    for (let i = 0; i < 200 && !runtime.calls.includes('listContainers'); i++) await sleep(10);
    const stopped = controller.stop();
    release();
    await stopped;
    for (let i = 0; i < 20; i++) await tick();
    assert.equal(clock.pendingTimers, 0, 'no timer left: a resync that ends after the stop schedules no other');
    runtime.calls.length = 0;
    await clock.advance(RESYNC_SECONDS * 1000 * 3);
    await sleep(50);
    assert.deepEqual(runtime.calls, [], 'no resync after the stop');
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
    assert.deepEqual(created(calls), ['app3']);
    assert.equal(runtime.running('app3').length, 1, 'app3 runs again');
  });

  it('reconciles the app whose tag was moved to another image while no event reached berth', async () => {
    await startWith(3);
    const moved = `sha256:${'e'.repeat(64)}`;
    runtime.images.set(moved, { id: moved, repoTags: [], repoDigests: [], createdAt: clock.now(), size: 1 });
    runtime.tags.set('dokku/app1:v1', moved);
    const calls = await resync();
    assert.deepEqual(created(calls), ['app1']);
    assert.deepEqual(
      runtime.running('app1').map((c) => c.imageId),
      [moved],
    );
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
    assert.deepEqual(
      calls.filter((c) => c.startsWith('create') || c.startsWith('stop')),
      [],
      'no container touched',
    );
    router.written.length = 0;
    await resync();
    assert.deepEqual(router.written, [], 'in sync again: nothing rewritten');
  });

  describe('restart', () => {
    it('over a converged host reconciles nothing: one container list and one image list', async () => {
      await startWith(40);
      const calls = await restart();
      assert.deepEqual(calls.sort(), ['listContainers', 'listImages']);
      assert.equal(runtime.running().length, 40, 'every app still runs');
    });

    it('reconciles only what changed while berth was down: a stopped container, an edited tag', async () => {
      await startWith(5);
      await controller.stop();
      runtime.running('app3')[0]!.state = 'exited';
      runtime.addImage('dokku/app1:v2');
      await writeManifest('app1', {
        tag: 'v2',
        ports: [{ container: 8080 }],
        checks: { wait: 0 },
        deploy: { retireAfter: 0 },
      });
      const calls = await restart();
      assert.deepEqual(created(calls).sort(), ['app1', 'app3']);
      assert.equal(runtime.running('app3').length, 1, 'app3 runs again');
      assert.deepEqual(
        runtime.running('app1').map((c) => c.name.split('.')[1]),
        ['app1'],
      );
    });

    it('rewrites a route deleted while berth was down and removes the route of an app whose manifest went', async () => {
      const router = new MemoryRouter();
      await startWith(3, 0, router);
      await controller.stop();
      router.routes.delete('app0');
      router.routes.set('vanished', '127.0.0.1:1');
      router.written.length = 0;
      const calls = await restart(router);
      assert.deepEqual(router.written, ['app0']);
      assert.deepEqual([...router.routes.keys()].sort(), ['app0', 'app1', 'app2']);
      assert.deepEqual(created(calls), [], 'no container touched');
    });

    it('with the state file lost, reconciles every app once to rebuild its record, restarting none', async () => {
      await startWith(3);
      await controller.stop();
      await rm(join(root, 'state'), { recursive: true, force: true });
      const calls = await restart();
      assert.deepEqual(created(calls), []);
      assert.deepEqual(state.names().sort(), ['app0', 'app1', 'app2']);
      assert.ok(state.names().every((name) => state.get(name)?.phase === 'Running'));
    });

    it('run --once over a converged host reports every app Running without reconciling any', async () => {
      await startWith(3);
      await controller.stop();
      runtime.calls.length = 0;
      await boot(directTraffic);
      const results = await controller.runOnce();
      assert.deepEqual([...results].map(([name, r]) => `${name} ${r.phase} ${r.failed}`).sort(), [
        'app0 Running false',
        'app1 Running false',
        'app2 Running false',
      ]);
      assert.deepEqual(runtime.calls.sort(), ['listContainers', 'listImages']);
    });
  });

  it('leaves an app whose manifest turned invalid to its last valid state: reported Invalid once, not reconciled at every resync', async () => {
    await startWith(2);
    await writeManifest('app1', 'apiVersion: berth/v1\nkind: App\nmetadata: { name: app1 }\nspec: { tag: [unclosed\n');
    await resync();
    assert.equal(state.get('app1')?.phase, 'Invalid');
    assert.equal(runtime.running('app1').length, 1, 'app1 keeps running');
    assert.deepEqual((await resync()).sort(), ['listContainers', 'listImages'], 'the next resync finds it in sync');
  });
});
