import { strict as assert } from 'node:assert';
import type { BerthEvent } from '../../../src/events/types.js';
import { everyEvent, parseFilter } from '../../../src/events/filter.js';
import { Notifier } from '../../../src/notify/notifier.js';
import { DeliveryError, type Sink } from '../../../src/notify/sinks.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
import { FakeClock, settle } from '../../support/fake-clock.js';

/** A sink that fails its first `failures` deliveries (retryably), then takes everything. */
function recordingSink(failures = 0, filter = everyEvent): Sink & { received: BerthEvent[]; attempts: number } {
  const sink = {
    name: 'test',
    filter,
    received: [] as BerthEvent[],
    attempts: 0,
    async deliver(event: BerthEvent) {
      sink.attempts++;
      if (sink.attempts <= failures) throw new DeliveryError('test: HTTP 500', true);
      sink.received.push(event);
    },
  };
  return sink;
}

describe('Notifier', () => {
  const failed = (revision: string, reason = 'check /health failed') => ({
    type: 'deploy.failed' as const,
    app: 'web',
    message: `web:v2: ${reason}`,
    details: { revision },
  });
  const started = (revision: string) => ({
    type: 'deploy.started' as const,
    app: 'web',
    message: 'deploying web:v2',
    details: { revision },
  });

  it('says a deploy that fails on every backoff retry once, until something else happens', async () => {
    const clock = new FakeClock();
    const sink = recordingSink();
    const notifier = new Notifier({ namespace: 'dokku', clock, logger: silentLogger(), sinks: [sink] });
    for (let i = 0; i < 5; i++) {
      notifier.emit(started('r2'));
      notifier.emit(failed('r2', `attempt ${i}`));
    }
    notifier.emit({ type: 'deploy.succeeded', app: 'web', message: 'web:v2 deployed', details: { revision: 'r2' } });
    notifier.emit(started('r3'));
    notifier.emit(failed('r3'));
    await settle();
    assert.deepEqual(
      sink.received.map((e) => e.type),
      ['deploy.started', 'deploy.failed', 'deploy.succeeded', 'deploy.started', 'deploy.failed'],
    );
    assert.deepEqual(
      notifier.events().map((e) => e.type),
      sink.received.map((e) => e.type),
      'the timeline says the same',
    );
    assert.ok(
      sink.received.every(
        (e) => e.namespace === 'dokku' && /^[0-9a-f-]{36}$/.test(e.id) && !Number.isNaN(Date.parse(e.time)),
      ),
    );
  });

  it('says every occurrence that is not a backoff retry: the same container replaced twice, the same engine lost twice, are two events each', async () => {
    const clock = new FakeClock();
    const sink = recordingSink();
    const notifier = new Notifier({ namespace: 'dokku', clock, logger: silentLogger(), sinks: [sink] });
    const repaired = {
      type: 'drift.repaired' as const,
      app: 'web',
      message: 'repaired: created web.1 (replica 1 is missing)',
      details: { repaired: 'created web.1 (replica 1 is missing)' },
    };
    notifier.emit(repaired);
    notifier.emit(repaired);
    notifier.emit({ type: 'engine.lost', message: 'the Docker engine is unreachable: ECONNREFUSED' });
    notifier.emit({ type: 'engine.back', message: 'the Docker engine answers again' });
    notifier.emit({ type: 'engine.lost', message: 'the Docker engine is unreachable: ECONNREFUSED' });
    // A deploy of another revision that fails, then the first one again: each is a deploy of its own, not a retry.
    notifier.emit(started('r2'));
    notifier.emit(failed('r2'));
    notifier.emit(started('r3'));
    notifier.emit(failed('r3'));
    notifier.emit(started('r2'));
    notifier.emit(failed('r2'));
    await settle();
    const said = [
      'drift.repaired',
      'drift.repaired',
      'engine.lost',
      'engine.back',
      'engine.lost',
      ...Array<string[]>(3).fill(['deploy.started', 'deploy.failed']).flat(),
    ];
    assert.deepEqual(
      sink.received.map((e) => e.type),
      said,
    );
    assert.deepEqual(
      notifier.events().map((e) => e.type),
      said,
      'the timeline keeps each too',
    );
    assert.equal(new Set(sink.received.map((e) => e.id)).size, said.length, 'each its own id');
  });

  it('says the retry a person asks for (berth retry), though its revision failed before; its backoff retries are quiet again', async () => {
    const sink = recordingSink();
    const notifier = new Notifier({
      namespace: 'dokku',
      clock: new FakeClock(),
      logger: silentLogger(),
      sinks: [sink],
    });
    notifier.emit(started('r2'));
    notifier.emit(failed('r2'));
    notifier.emit(started('r2'));
    notifier.emit(failed('r2'));
    notifier.retried('web');
    notifier.emit(started('r2'));
    notifier.emit(failed('r2', 'check /health failed again'));
    notifier.emit(started('r2'));
    notifier.emit(failed('r2'));
    await settle();
    assert.deepEqual(
      sink.received.map((e) => e.type),
      ['deploy.started', 'deploy.failed', 'deploy.started', 'deploy.failed'],
    );
    assert.equal(sink.received[3]?.message, 'web:v2: check /health failed again');
  });

  it('does not carry a failing revision across a restart: what the new berth tries is said', async () => {
    const first = new Notifier({ namespace: 'dokku', clock: new FakeClock(), logger: silentLogger(), sinks: [] });
    first.emit(started('r2'));
    first.emit(failed('r2'));
    const sink = recordingSink();
    const next = new Notifier({
      namespace: 'dokku',
      clock: new FakeClock(),
      logger: silentLogger(),
      sinks: [sink],
      initial: first.events(),
    });
    next.emit(started('r2'));
    next.emit(failed('r2'));
    next.emit(started('r2'));
    next.emit(failed('r2'));
    await settle();
    assert.deepEqual(
      sink.received.map((e) => e.type),
      ['deploy.started', 'deploy.failed'],
    );
    assert.deepEqual(
      next.events().map((e) => e.type),
      ['deploy.started', 'deploy.failed', 'deploy.started', 'deploy.failed'],
    );
  });

  it('retries a failing receiver with backoff and delivers each event once, in order', async () => {
    const clock = new FakeClock();
    const sink = recordingSink(3);
    const delivered: string[] = [];
    const notifier = new Notifier({
      namespace: 'dokku',
      clock,
      logger: silentLogger(),
      sinks: [sink],
      metrics: { delivered: (_s, result) => delivered.push(result), dropped: () => undefined },
    });
    notifier.emit({ type: 'app.removed', app: 'a', message: 'removed' });
    notifier.emit({ type: 'app.removed', app: 'b', message: 'removed' });
    await settle();
    assert.equal(sink.received.length, 0);
    await clock.advance(1_000);
    await clock.advance(2_000);
    assert.equal(sink.received.length, 0, 'not before the third retry');
    await clock.advance(4_000);
    assert.deepEqual(
      sink.received.map((e) => e.app),
      ['a', 'b'],
    );
    assert.equal(sink.attempts, 5);
    assert.deepEqual(delivered, ['delivered', 'delivered']);
  });

  it('gives up on a receiver that refuses (4xx) without retrying, and counts a full queue instead of losing silently', async () => {
    const clock = new FakeClock();
    const results: string[] = [];
    let dropped = 0;
    const refusing: Sink = {
      name: 'refusing',
      filter: everyEvent,
      deliver: async () => {
        throw new DeliveryError('refusing: HTTP 404', false);
      },
    };
    const notifier = new Notifier({
      namespace: 'dokku',
      clock,
      logger: silentLogger(),
      sinks: [refusing],
      metrics: { delivered: (_s, result) => results.push(result), dropped: () => dropped++ },
    });
    notifier.emit({ type: 'engine.lost', message: 'gone' });
    await settle();
    assert.deepEqual(results, ['failed']);

    const stuck: Sink = { name: 'stuck', filter: everyEvent, deliver: () => new Promise(() => undefined) };
    const slow = new Notifier({
      namespace: 'dokku',
      clock,
      logger: silentLogger(),
      sinks: [stuck],
      metrics: { delivered: () => undefined, dropped: () => dropped++ },
    });
    for (let i = 0; i < 1_005; i++) slow.emit({ type: 'drift.repaired', app: `app${i}`, message: 'repaired' });
    assert.equal(dropped, 5, '1000 held (the one in flight among them), the rest counted as dropped');
  });

  it('sends each sink only the events its filter names', async () => {
    const failures = recordingSink(0, parseFilter('events=deploy.failed,deploy.rolled_back&apps=web'));
    const notifier = new Notifier({
      namespace: 'dokku',
      clock: new FakeClock(),
      logger: silentLogger(),
      sinks: [failures],
    });
    notifier.emit(failed('r1'));
    notifier.emit({ type: 'deploy.failed', app: 'api', message: 'x', details: { revision: 'r9' } });
    notifier.emit({ type: 'deploy.succeeded', app: 'web', message: 'ok' });
    await settle();
    assert.deepEqual(
      failures.received.map((e) => `${e.type} ${e.app}`),
      ['deploy.failed web'],
    );
    assert.throws(
      () => parseFilter('events=deploy.exploded'),
      /unknown event type "deploy.exploded" \(known: deploy.started/,
    );
  });
});
