import { strict as assert } from 'node:assert';
import { defaultMaxListeners, setMaxListeners } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { dump } from 'js-yaml';
import { Controller } from '../../../../src/controller/controller.js';
import { DesiredState } from '../../../../src/controller/desired-state.js';
import { WorkQueue } from '../../../../src/controller/queue.js';
import type { HostEventSource } from '../../../../src/controller/sources/host-events.js';
import { ManifestDirectory } from '../../../../src/manifest/read/load.js';
import { SwarmReconciler } from '../../../../src/reconcile/swarm/reconciler.js';
import { StateStore } from '../../../../src/state/store.js';
import { silentLogger } from '../../../../src/util/silent-logger.js';
import { FakeClock } from '../../../support/fake-clock.js';
import { FakeServices } from '../../../support/fake-services.js';

const IMAGE = '127.0.0.1:5000/team/web';

/** Swarm's own events are not watched here: the controller hears of the swarm through its passes and resyncs. */
const noHostEvents: HostEventSource = { start: async () => undefined, probe: () => undefined, close: () => undefined };

describe('the controller over the Swarm reconciler: a manifest change acts at once (in-memory swarm)', () => {
  let root: string;
  let manifests: string;
  let clock: FakeClock;
  let services: FakeServices;
  let state: StateStore;
  let queue: WorkQueue;
  let controller: Controller;

  const writeWeb = (tag: string, deploy: Record<string, number> = {}) =>
    writeFile(
      join(manifests, 'web.yaml'),
      dump({
        apiVersion: 'berth/v1',
        kind: 'App',
        metadata: { name: 'web' },
        spec: {
          image: IMAGE,
          tag,
          replicas: 1,
          ports: [{ container: 8080, hostIp: '0.0.0.0' }],
          checks: { wait: 0, http: [{ path: '/health', content: 'ok', attempts: 3, wait: 1, timeout: 2 }] },
          deploy,
        },
      }),
    );

  /** Runs the clock (100 ms steps) until `done`; resolves with the time it took, fails past `limitMs`. */
  const until = async (what: string, done: () => boolean, limitMs = 120_000): Promise<number> => {
    const begin = clock.now();
    while (!done()) {
      if (clock.now() - begin > limitMs) assert.fail(`${what}: not within ${limitMs} ms`);
      await clock.advance(100);
      await tick();
    }
    return clock.now() - begin;
  };
  const history = () => state.get('web')?.history.map((h) => `${h.tag} ${h.outcome}`) ?? [];

  // FakeClock's sleep leaves its abort listener on the controller's signal: a watch's many polls add up.
  before(() => setMaxListeners(Number.POSITIVE_INFINITY));
  after(() => setMaxListeners(defaultMaxListeners));

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-swarm-controller-'));
    manifests = join(root, 'manifests');
    await mkdir(manifests);
    clock = new FakeClock();
    services = new FakeServices(clock);
    for (const tag of ['v1', 'v2', 'bad', 'stuck']) services.inRegistry(`${IMAGE}:${tag}`);
    services.unhealthy.add(services.inRegistry(`${IMAGE}:bad`));
    services.stuck.add(services.inRegistry(`${IMAGE}:stuck`));
    state = await StateStore.open(join(root, 'state'), 'dokku');
    const desired = new DesiredState(true);
    queue = new WorkQueue(clock);
    const logger = silentLogger();
    const reconciler = new SwarmReconciler(
      { services, clock, logger, state, desired: (name) => desired.get(name) },
      { namespace: 'dokku', stopTimeoutSeconds: 1, pollMs: 100 },
    );
    controller = new Controller(
      {
        clock,
        logger,
        state,
        desired,
        reconciler,
        queue,
        events: noHostEvents,
        manifests: new ManifestDirectory(manifests, { namespace: 'dokku', allowHostPaths: [] }),
      },
      { concurrency: 2, resyncSeconds: 600 },
    );
    await writeWeb('v1');
    await controller.start();
    await until('v1 running', () => state.get('web')?.phase === 'Running' && queue.isIdle());
  });

  afterEach(async () => {
    await controller.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('a manifest deleted while a failed revision waits out its backoff removes the service at once', async () => {
    await writeWeb('bad');
    await controller.refreshManifests();
    await until('the deploy of bad to fail', () => history()[0] === 'bad failed');
    await until('the app to back off', () => queue.nextBackoff('web') > 2_000);
    await rm(join(manifests, 'web.yaml'));
    await controller.refreshManifests();
    const took = await until('the service removed', () => services.serviceOf('web') === undefined);
    assert.ok(took <= 500, `removed ${took} ms after the deletion was read`);
  });

  it('a manifest deleted while a rollout is watched (it would run for minutes) removes the service within a second', async () => {
    await writeWeb('stuck', { progressDeadline: 600 });
    await controller.refreshManifests();
    await until('the rollout under way', () => state.get('web')?.phase === 'Deploying');
    await clock.advance(5_000);
    await rm(join(manifests, 'web.yaml'));
    await controller.refreshManifests();
    const took = await until('the service removed', () => services.serviceOf('web') === undefined);
    assert.ok(took <= 1_000, `removed ${took} ms after the deletion was read`);
  });

  it('an edit while the new tasks are watched for deploy.monitor is sent within a second', async () => {
    await writeWeb('v2', { monitor: 300 });
    await controller.refreshManifests();
    await until('v2 deployed', () => history()[0] === 'v2 succeeded');
    await clock.advance(5_000);
    assert.ok(queue.inFlight('web'), 'the new tasks are being watched');
    await writeWeb('v1', { monitor: 300 });
    await controller.refreshManifests();
    const took = await until('v1 sent', () => services.serviceOf('web')?.spec.image.includes(':v1@') === true);
    assert.ok(took <= 1_000, `sent ${took} ms after the edit was read`);
  });
});
