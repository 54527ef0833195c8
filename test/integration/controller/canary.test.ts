import { strict as assert } from 'node:assert';
import { eventually } from '../../support/berth-process.js';
import type { BerthEvent } from '../../../src/events/types.js';
import { EventFile, expectEvents } from '../../support/event-sink.js';
import { type Load, startLoad } from '../../support/load.js';
import { PrivateNginx } from '../../support/nginx.js';
import { buildPageImage, PAGE_PATH } from '../../support/page-image.js';
import { Scenario } from '../../support/scenario.js';

/**
 * deploy.canary on the real engine and nginx, under load from clients on loopback: berth splits
 * the requests by nginx's weights, reads nginx's access log, and judges each step on it. A
 * revision that answers 500 to a fifth of its requests (and passes /health) is rolled back at the
 * first step; a good one is promoted through every step without a failed request.
 */
describe('berth run: a canary judged on nginx access log (real engine, real nginx)', function () {
  this.timeout(120_000);
  const HOST = 'web.example.test';
  const PAGE = PAGE_PATH;
  let world: Scenario;
  let nginx: PrivateNginx;
  let sink: EventFile;
  /** The clients of the test under way: stopped after it, whether it passed or not. */
  let running: Load | undefined;

  beforeEach(async () => {
    world = await Scenario.create();
    nginx = await PrivateNginx.start();
    sink = await EventFile.create();
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await world.cleanup();
    await nginx.stop();
    await sink.remove();
  });

  const timeline = async () => JSON.parse((await world.cli(['events', '--json'])).stdout) as BerthEvent[];
  const expect = (type: BerthEvent['type'], count = 1) =>
    expectEvents(sink, timeline, type, { namespace: world.namespace, app: 'web', count });

  const revision = (tag: string, body: string, failOneIn?: number, delaySeconds?: number): Promise<string> =>
    buildPageImage(`${world.namespace}/web`, tag, {
      body,
      ...(failOneIn !== undefined ? { failOneIn } : {}),
      ...(delaySeconds !== undefined ? { delaySeconds } : {}),
    });

  const manifest = (tag: string, canary: Record<string, unknown> = {}, progressDeadline = 300) => ({
    tag,
    domains: [HOST],
    checks: { http: [{ path: '/health', content: 'ok', wait: 0, attempts: 20, timeout: 1 }] },
    deploy: {
      retireAfter: 2,
      monitor: 3,
      progressDeadline,
      canary: { steps: [10, 50], interval: 5, maxErrorRate: 5, minRequests: 20, ...canary },
    },
  });

  /** The app's status once `accept` returns something for it, with berth's log in the error when it never does. */
  async function statusWhen<T>(
    berth: { tail(n: number): string },
    what: string,
    accept: (web: Awaited<ReturnType<Scenario['status']>>[number]) => T | undefined | false,
    ms = 60_000,
  ): Promise<T> {
    return eventually(
      async () => {
        const web = (await world.status()).find((s) => s.app === 'web');
        return web === undefined ? undefined : accept(web);
      },
      ms,
      what,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(40)}`);
    }) as Promise<T>;
  }

  /**
   * Once nginx serves `body`, and no worker of an older configuration accepts connections any more
   * (the worker nginx started with, before berth's first block, answers 404 for a few milliseconds
   * after the first reload: the load would count those).
   */
  async function serving(body: string): Promise<void> {
    await eventually(async () => (await nginx.get(HOST, PAGE)).body === body, 30_000, `nginx to serve ${body}`);
    await nginx.settled();
  }

  const load = () =>
    startLoad(
      () => nginx.get(HOST, PAGE),
      () => true,
      4,
    );

  it('aborts a revision failing a fifth of its requests at the first step: v1 serves alone after, v2 held', async () => {
    const v1 = await revision('v1', 'v1');
    await revision('v2', 'v2', 5);
    await world.writeManifest('web', manifest('v1'));
    const berth = world.start([...nginx.berthFlags(), ...sink.flags()]);
    await serving('v1').catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(30)}`);
    });

    const clients = load();
    const deployedAt = Date.now();
    await world.writeManifest('web', manifest('v2'));
    const rolledBack = await eventually(
      async () => {
        const web = (await world.status()).find((s) => s.app === 'web');
        return web?.history.find((h) => h.outcome === 'rolled_back');
      },
      60_000,
      'the canary rolled back',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(40)}`);
    });
    const decidedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const during = await clients.stop();

    assert.equal(rolledBack.tag, 'v2');
    assert.match(rolledBack.reason ?? '', /^the canary at 10% failed: \d+\.\d% errors over \d+ requests at 10%/);
    const web = (await world.status()).find((s) => s.app === 'web');
    assert.equal(web?.phase, 'Degraded');
    assert.equal(web?.canary, null, 'no canary left in the record');
    assert.ok(
      berth.logs.some((l) => l.step === 'canary'),
      'a canary step was routed before the decision',
    );
    const failed = during.failures.length;
    // At 10% to a revision failing 20%: about 2% of the requests in the step fail; none once v1 serves alone.
    assert.ok(
      failed < during.requests * 0.1,
      `${failed} of ${during.requests} requests failed (decided in ${((decidedAt - deployedAt) / 1000).toFixed(1)} s)`,
    );

    await eventually(
      async () => (await world.running('web')).every((c) => c.imageId === v1),
      15_000,
      'only v1 containers run',
    );
    for (let i = 0; i < 100; i++) assert.deepEqual(await nginx.get(HOST, PAGE), { status: 200, body: 'v1' });
    const [step] = await expect('canary.step');
    assert.equal(step?.details.percent, 10);
    const [aborted] = await expect('canary.aborted');
    assert.equal(aborted?.details.reason, rolledBack.reason);
    assert.ok(
      ((aborted?.details.numbers as { requests: number } | undefined)?.requests ?? 0) >= 20,
      'the numbers judged',
    );
    await expect('deploy.rolled_back');
    assert.equal(await berth.stop(), 0);
  });

  it('aborts a slow revision on its p95 at the first step, the stable one being quick', async () => {
    const v1 = await revision('v1', 'v1');
    await revision('v2', 'v2', undefined, 0.3);
    await world.writeManifest('web', manifest('v1', { maxLatencyP95: 150 }));
    const berth = world.start([...nginx.berthFlags(), ...sink.flags()]);
    await serving('v1').catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(30)}`);
    });

    const clients = load();
    await world.writeManifest('web', manifest('v2', { maxLatencyP95: 150 }));
    const rolledBack = await statusWhen(berth, 'the slow canary rolled back', (web) =>
      web.history.find((h) => h.outcome === 'rolled_back'),
    );
    const during = await clients.stop();

    assert.equal(rolledBack.tag, 'v2');
    assert.match(
      rolledBack.reason ?? '',
      /^the canary at 10% failed: p95 \d+ ms over \d+ requests at 10%, above 150 ms \(the stable revision: p95 \d+ ms\)$/,
    );
    const p95 = Number(/p95 (\d+) ms over/.exec(rolledBack.reason ?? '')?.[1]);
    assert.ok(p95 >= 250, `the canary's p95 is its 0.3 s page: ${p95} ms`);
    assert.deepEqual(during.failures.slice(0, 5), [], 'slow is not failed: no request failed');
    await eventually(
      async () => (await world.running('web')).every((c) => c.imageId === v1),
      15_000,
      'only v1 containers run',
    );
    const [aborted] = await expect('canary.aborted');
    assert.ok(
      ((aborted?.details.numbers as { p95Ms?: number } | undefined)?.p95Ms ?? 0) >= 250,
      'the event carries the p95',
    );
    assert.equal(await berth.stop(), 0);
  });

  it('a step with too little traffic waits and says so, until progressDeadline ends the canary', async () => {
    await revision('v1', 'v1');
    await revision('v2', 'v2');
    const few = { steps: [10], interval: 5, minRequests: 1000 };
    await world.writeManifest('web', manifest('v1', few, 15));
    const berth = world.start([...nginx.berthFlags(), ...sink.flags()]);
    await serving('v1').catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(30)}`);
    });

    await world.writeManifest('web', manifest('v2', few, 15));
    const firstStep = await statusWhen(berth, 'the first step routed', (web) => web.canary ?? undefined);
    // A trickle: far fewer than 1,000 requests reach the canary in the deadline.
    for (let i = 0; i < 60; i++) assert.equal((await nginx.get(HOST, PAGE)).status, 200);
    const waiting = await statusWhen(berth, 'the step judged short of requests', (web) =>
      web.canary?.reason?.match(/^10%: \d+ of 1,000 requests$/) ? web : undefined,
    );
    assert.equal(waiting.phase, 'Deploying');
    assert.match(waiting.message, /^canary 10%: \d+ of 1,000 requests$/);
    const pastInterval = Date.parse(firstStep.stepStartedAt) + 6_000 - Date.now();
    if (pastInterval > 0) await new Promise((resolve) => setTimeout(resolve, pastInterval));
    const stillWaiting = (await world.status()).find((s) => s.app === 'web');
    assert.deepEqual(
      { step: stillWaiting?.canary?.step, percent: stillWaiting?.canary?.percent },
      { step: 1, percent: 10 },
      'past its 5 s interval, the step short of requests still waits',
    );

    const rolledBack = await statusWhen(berth, 'the deadline ended the canary', (web) =>
      web.history.find((h) => h.outcome === 'rolled_back'),
    );
    assert.equal(rolledBack.tag, 'v2');
    assert.match(rolledBack.reason ?? '', /did not finish within deploy\.progressDeadline \(15s\)/);
    const startedToEnd = Date.now() - Date.parse(firstStep.startedAt);
    assert.ok(startedToEnd < 25_000, `ended ${startedToEnd} ms after the first step, bounded by the 15 s deadline`);
    for (let i = 0; i < 20; i++) assert.deepEqual(await nginx.get(HOST, PAGE), { status: 200, body: 'v1' });
    assert.equal(await berth.stop(), 0);
  });

  it('promotes a good revision through 10% and 50% with no failed request', async () => {
    await revision('v1', 'v1');
    const v3 = await revision('v3', 'v3');
    await world.writeManifest('web', manifest('v1'));
    const berth = world.start([...nginx.berthFlags(), ...sink.flags()]);
    await serving('v1').catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(30)}`);
    });

    const clients = load();
    await world.writeManifest('web', manifest('v3'));
    const promoted = await eventually(
      async () => {
        const web = (await world.status()).find((s) => s.app === 'web');
        return web?.history.find((h) => h.tag === 'v3' && h.outcome === 'succeeded');
      },
      60_000,
      'v3 promoted',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(40)}`);
    });
    await eventually(async () => (await world.running('web')).every((c) => c.imageId === v3), 30_000, 'v1 retired');
    const during = await clients.stop();

    assert.equal(promoted.imageId, v3);
    const steps = berth.logs.filter((l) => l.step === 'canary').map((l) => l.percent);
    assert.deepEqual(steps, [10, 50], 'both steps routed, in turn');
    assert.deepEqual(
      during.failures.slice(0, 5),
      [],
      `${during.failures.length} of ${during.requests} requests failed`,
    );
    assert.ok(during.firstSeen.has('v1') && during.firstSeen.has('v3'), 'clients saw both revisions');
    const web = (await world.status()).find((s) => s.app === 'web');
    assert.equal(web?.phase, 'Running');
    assert.equal(web?.canary, null);
    const stepEvents = await expect('canary.step', 2);
    assert.deepEqual(
      stepEvents.map((e) => e.details.percent),
      [10, 50],
    );
    await expect('canary.promoted');
    await expect('deploy.succeeded', 2);
    assert.equal(await berth.stop(), 0);
  });

  it('`berth promote` and `berth abort` act at once on a canary that would wait a minute at its step', async () => {
    await revision('v1', 'v1');
    await revision('v2', 'v2');
    const v3 = await revision('v3', 'v3');
    await world.writeManifest('web', manifest('v1', { interval: 60 }));
    const berth = world.start([...nginx.berthFlags(), ...sink.flags()]);
    await serving('v1').catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(30)}`);
    });
    const canaryAt = async (tag: string) =>
      eventually(
        async () => {
          const web = (await world.status()).find((s) => s.app === 'web');
          return web?.canary !== null && web?.desiredTag === tag && web?.canary;
        },
        30_000,
        `a canary of ${tag} under way`,
      );

    const clients = load();
    await world.writeManifest('web', manifest('v2', { interval: 60 }));
    await canaryAt('v2');
    const promoteAt = Date.now();
    const promote = await world.cli(['promote', 'web']);
    assert.equal(promote.code, 0, promote.stderr);
    await eventually(
      async () => (await world.status()).find((s) => s.app === 'web')?.history[0]?.tag === 'v2',
      10_000,
      'v2 promoted',
    );
    const promotedInMs = Date.now() - promoteAt;
    assert.ok(promotedInMs < 5_000, `promoted ${promotedInMs} ms after berth promote`);
    await expect('canary.promoted');

    await world.writeManifest('web', manifest('v3', { interval: 60 }));
    await canaryAt('v3');
    const abortAt = Date.now();
    const abort = await world.cli(['abort', 'web']);
    assert.equal(abort.code, 0, abort.stderr);
    const rolledBack = await eventually(
      async () => (await world.status()).find((s) => s.app === 'web')?.history.find((h) => h.outcome === 'rolled_back'),
      10_000,
      'v3 rolled back',
    );
    assert.ok(Date.now() - abortAt < 5_000, 'aborted at once');
    assert.equal(rolledBack.tag, 'v3');
    assert.match(rolledBack.reason ?? '', /aborted by `berth abort`/);
    await eventually(
      async () => (await world.running('web')).every((c) => c.imageId !== v3),
      15_000,
      'the v3 containers gone',
    );
    const during = await clients.stop();
    for (let i = 0; i < 50; i++) assert.deepEqual(await nginx.get(HOST, PAGE), { status: 200, body: 'v2' });
    assert.deepEqual(during.failures.slice(0, 5), [], `${during.failures.length} of ${during.requests} failed`);

    const nothing = await world.cli(['abort', 'web']);
    assert.equal(nothing.code, 1, 'no canary under way: nothing to abort');
    assert.match(nothing.stderr, /has no canary under way/);
    assert.equal(await berth.stop(), 0);
  });

  it('berth killed mid-canary resumes it when restarted: the split stays, the steps go on, no request fails', async () => {
    await revision('v1', 'v1');
    const v2 = await revision('v2', 'v2');
    await world.writeManifest('web', manifest('v1'));
    const first = world.start(nginx.berthFlags());
    await serving('v1').catch((error: Error) => {
      throw new Error(`${error.message}\n${first.tail(30)}`);
    });
    const clients = load();
    await world.writeManifest('web', manifest('v2'));
    await eventually(
      async () => (await world.status()).find((s) => s.app === 'web')?.canary?.percent === 10,
      30_000,
      'the first step routed',
    );
    await first.stop('SIGKILL');
    // Nothing listens to the access log now; nginx keeps the split it was given.
    const bodies = new Set<string>();
    for (let i = 0; i < 100; i++) bodies.add((await nginx.get(HOST, PAGE)).body);
    assert.deepEqual([...bodies].sort(), ['v1', 'v2'], 'the split stands while berth is down');

    const second = world.start(nginx.berthFlags());
    const promoted = await eventually(
      async () => {
        const web = (await world.status()).find((s) => s.app === 'web');
        return web?.history.find((h) => h.tag === 'v2' && h.outcome === 'succeeded');
      },
      60_000,
      'v2 promoted by the restarted berth',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${second.tail(40)}`);
    });
    assert.equal(promoted.imageId, v2);
    assert.deepEqual(
      second.logs.filter((l) => l.step === 'canary').map((l) => l.percent),
      [50],
      'the restarted berth judged the step it found, then routed the next',
    );
    const during = await clients.stop();
    assert.deepEqual(during.failures.slice(0, 5), [], `${during.failures.length} of ${during.requests} failed`);
    assert.equal(await second.stop(), 0);
  });
});
