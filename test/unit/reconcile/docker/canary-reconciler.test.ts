import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewEvent } from '../../../../src/events/types.js';
import type { App } from '../../../../src/manifest/types.js';
import type { RevisionStats } from '../../../../src/proxy/access-log/revision-stats.js';
import type { RouteExtras, TrafficRouter } from '../../../../src/proxy/types.js';
import type { Desired } from '../../../../src/reconcile/docker/actions.js';
import { Reconciler } from '../../../../src/reconcile/docker/reconciler.js';
import { StateStore } from '../../../../src/state/store.js';
import { silentLogger } from '../../../../src/util/silent-logger.js';
import { testApp } from '../../../support/apps.js';
import { FakeClock } from '../../../support/fake-clock.js';
import { FakeRuntime } from '../../../support/fake-runtime.js';

/** A proxy that remembers each app's last route (what nginx would hold). */
class RecordingRouter implements TrafficRouter {
  readonly routes = new Map<string, { endpoints: string[]; extras: RouteExtras }>();
  readonly drainMs = undefined;
  async route(app: App, endpoints: string[], extras: RouteExtras = {}): Promise<void> {
    this.routes.set(app.name, { endpoints: [...endpoints], extras: strip(extras) });
  }
  async unroute(name: string): Promise<void> {
    this.routes.delete(name);
  }
  async isRouted(app: App, endpoints: string[], extras: RouteExtras = {}): Promise<boolean> {
    return JSON.stringify(this.routes.get(app.name)) === JSON.stringify({ endpoints, extras: strip(extras) });
  }
  async hasRoute(name: string): Promise<boolean> {
    return this.routes.has(name);
  }
  async routed(): Promise<string[]> {
    return [...this.routes.keys()];
  }
  urls(): string[] {
    return [];
  }
}

/** Extras as a route stores them: empty backups are no backups. */
function strip(extras: RouteExtras): RouteExtras {
  const { backups, ...rest } = structuredClone(extras);
  return backups !== undefined && backups.length > 0 ? { backups, ...rest } : rest;
}

describe('Reconciler with deploy.canary (in-memory runtime, recording proxy)', () => {
  let stateDir: string;
  let clock: FakeClock;
  let runtime: FakeRuntime;
  let state: StateStore;
  let router: RecordingRouter;
  let events: NewEvent[];
  let numbers: { canary: RevisionStats; stable: RevisionStats };
  let reconciler: Reconciler;
  const desired = new Map<string, Desired>();
  const signal = new AbortController().signal;
  const TARGET = { address: '127.0.0.1:5140', token: 'token_for_the_unit_test' };

  const web = (tag: string): App =>
    testApp('web', {
      tag,
      domains: ['web.example.test'],
      checks: { wait: 0 },
      deploy: {
        retireAfter: 30,
        monitor: 10,
        canary: { steps: [10, 50], interval: 5, maxErrorRate: 1, minRequests: 50 },
      },
    });
  const want = (app: App) => desired.set(app.name, { kind: 'present', app });
  const record = () => state.get('web');
  const types = () => events.map((e) => e.type);

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'berth-canary-'));
    clock = new FakeClock();
    runtime = new FakeRuntime(clock);
    state = await StateStore.open(stateDir, 'dokku');
    router = new RecordingRouter();
    events = [];
    numbers = { canary: { requests: 0, errors: 0 }, stable: { requests: 0, errors: 0 } };
    reconciler = new Reconciler(
      {
        runtime,
        clock,
        logger: silentLogger(),
        state,
        traffic: router,
        desired: (name) => desired.get(name) ?? { kind: 'absent' },
        events: { emit: (event) => events.push(event) },
        canary: {
          target: TARGET,
          startedAt: 0,
          stats: (byRevision) =>
            new Map(
              [...byRevision.keys()].map((revision) => [
                revision,
                revision === record()?.canary?.revision ? numbers.canary : numbers.stable,
              ]),
            ),
        },
      },
      { namespace: 'dokku', proxy: true, stopTimeoutSeconds: 1, keepRevisions: 2 },
    );
  });
  afterEach(async () => {
    await state.flush();
    await rm(stateDir, { recursive: true, force: true });
  });

  /** v1 serving, then v2 wanted: the first step routed. */
  async function firstStep(): Promise<{ v1: string; v2: string }> {
    const v1 = runtime.addImage('dokku/web:v1');
    const v2 = runtime.addImage('dokku/web:v2');
    want(web('v1'));
    assert.equal((await reconciler.reconcile('web', signal)).phase, 'Running', 'a first deploy switches at once');
    events = [];
    want(web('v2'));
    const result = await reconciler.reconcile('web', signal);
    assert.equal(result.phase, 'Deploying');
    assert.equal(result.requeueAfterMs, 1000);
    return { v1, v2 };
  }

  it('routes the first step, waits for traffic saying so, then rolls back a failing canary with its numbers', async () => {
    const { v1 } = await firstStep();
    const canary = record()?.canary;
    assert.deepEqual(
      { step: canary?.step, percent: canary?.percent, stepStartedAt: canary?.stepStartedAt },
      { step: 0, percent: 10, stepStartedAt: clock.now() },
    );
    const route = router.routes.get('web');
    assert.equal(route?.extras.canary?.percent, 10);
    assert.equal(route?.extras.canary?.endpoints.length, 1);
    assert.deepEqual(route?.extras.accessLog, TARGET);
    assert.deepEqual(types(), ['deploy.started', 'canary.step'], 'no deploy.succeeded before the promotion');
    assert.equal(record()?.phase, 'Deploying');

    numbers.canary = { requests: 12, errors: 0 };
    await clock.advance(1_000);
    assert.equal((await reconciler.reconcile('web', signal)).requeueAfterMs, 1000);
    assert.equal(record()?.message, 'canary 10%: 12 of 50 requests');
    assert.equal(record()?.canary?.reason, '10%: 12 of 50 requests');
    assert.deepEqual(router.routes.get('web')?.extras.canary?.percent, 10, 'the wait leaves the split alone');

    numbers.canary = { requests: 412, errors: 29 };
    numbers.stable = { requests: 3702, errors: 0 };
    await clock.advance(1_000);
    await reconciler.reconcile('web', signal);
    const after = record();
    assert.equal(after?.canary, undefined);
    assert.equal(after?.phase, 'Degraded');
    assert.equal(after?.held?.revision, after?.history[0]?.revision);
    assert.equal(after?.history[0]?.outcome, 'rolled_back');
    assert.equal(after?.history[0]?.tag, 'v2');
    assert.match(after?.history[0]?.reason ?? '', /^the canary at 10% failed: 7\.0% errors over 412 requests/);
    assert.deepEqual(
      runtime.running('web').map((c) => c.imageId),
      [v1],
    );
    assert.equal(router.routes.get('web')?.extras.canary, undefined, 'all traffic back on v1');
    assert.deepEqual(types().slice(-2), ['deploy.rolled_back', 'canary.aborted']);
    const aborted = events.at(-1);
    assert.deepEqual(aborted?.details?.numbers, { requests: 412, errors: 29, errorRate: (29 / 412) * 100 });
  });

  it('promotes through every step: 10%, 50%, then the switch with v1 behind as the backup', async () => {
    const { v2 } = await firstStep();
    numbers.canary = { requests: 200, errors: 0 };
    numbers.stable = { requests: 1800, errors: 0 };
    await clock.advance(5_000);
    await reconciler.reconcile('web', signal);
    assert.equal(record()?.canary?.percent, 50);
    assert.equal(router.routes.get('web')?.extras.canary?.percent, 50);

    await clock.advance(5_000);
    await reconciler.reconcile('web', signal);
    const after = record();
    assert.equal(after?.canary, undefined);
    assert.equal(after?.phase, 'Running');
    assert.equal(after?.servingRevision?.endsWith(v2), true);
    assert.equal(after?.history[0]?.outcome, 'succeeded');
    assert.equal(after?.history[0]?.tag, 'v2');
    const route = router.routes.get('web');
    assert.equal(route?.extras.canary, undefined);
    assert.equal(route?.extras.backups?.length, 1, 'v1 stays behind as the backup while deploy.monitor watches');
    assert.equal(runtime.tags.get('dokku/web:latest'), v2);
    assert.deepEqual(types(), ['deploy.started', 'canary.step', 'canary.step', 'deploy.succeeded', 'canary.promoted']);
  });

  it('a restarted berth (a new collector, a new token) resumes the step: the split is written again', async () => {
    await firstStep();
    const before = record()?.canary;
    router.routes.set('web', { endpoints: [], extras: {} });
    numbers.canary = { requests: 3, errors: 0 };
    await clock.advance(1_000);
    await reconciler.reconcile('web', signal);
    assert.equal(router.routes.get('web')?.extras.canary?.percent, 10);
    assert.deepEqual(record()?.canary?.startedAt, before?.startedAt, 'the same canary, its deadline unchanged');
  });
});
