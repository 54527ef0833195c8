import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller } from '../../../src/controller/controller.js';
import { DesiredState } from '../../../src/controller/desired-state.js';
import type { HostEventHandlers, HostEventSource } from '../../../src/controller/sources/host-events.js';
import { WorkQueue } from '../../../src/controller/queue.js';
import type { NewEvent } from '../../../src/events/types.js';
import { ManifestDirectory } from '../../../src/manifest/read/load.js';
import { Reconciler } from '../../../src/reconcile/docker/reconciler.js';
import { directTraffic } from '../../../src/proxy/direct.js';
import { StateStore } from '../../../src/state/store.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

describe('Controller: the engine lost and back, said once per change', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-engine-said-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('says engine.lost once though the stream and the probe both notice the outage, and engine.back once though both notice the return', async () => {
    const clock = new FakeClock();
    const runtime = new FakeRuntime(clock);
    const logger = silentLogger();
    const state = await StateStore.open(join(root, 'state'), 'dokku');
    const manifests = join(root, 'manifests');
    await mkdir(manifests);
    let handlers: HostEventHandlers | undefined;
    const events: HostEventSource = {
      start: async (h) => void (handlers = h),
      probe: () => undefined,
      close: () => undefined,
    };
    const said: NewEvent[] = [];
    const desired = new DesiredState(false);
    const controller = new Controller(
      {
        clock,
        logger,
        state,
        desired,
        queue: new WorkQueue(clock),
        events,
        notify: { emit: (event) => void said.push(event) },
        reconciler: new Reconciler(
          { runtime, clock, logger, state, traffic: directTraffic, desired: (name) => desired.get(name) },
          { namespace: 'dokku', proxy: false, stopTimeoutSeconds: 1, keepRevisions: 2 },
        ),
        manifests: new ManifestDirectory(manifests, { namespace: 'dokku', allowHostPaths: [] }),
      },
      { concurrency: 1, resyncSeconds: 3600 },
    );
    await controller.start();
    try {
      handlers!.onOutage(new Error('the event stream broke'));
      handlers!.onOutage(new Error('the engine has not answered a ping for 5 s (hung or stopped)'));
      handlers!.onReconnect();
      handlers!.onReconnect();
      handlers!.onOutage(new Error('the event stream broke again'));
      assert.deepEqual(
        said.map((e) => `${e.type}: ${e.message}`),
        [
          'engine.lost: the Docker engine is unreachable: the event stream broke',
          'engine.back: the Docker engine answers again',
          'engine.lost: the Docker engine is unreachable: the event stream broke again',
        ],
      );
    } finally {
      await controller.stop();
    }
  });
});
