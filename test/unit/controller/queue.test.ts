import { strict as assert } from 'node:assert';
import { WorkQueue } from '../../../src/controller/queue.js';
import { FakeClock } from '../../support/fake-clock.js';

async function drain(queue: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (queue.depth > 0) {
    const key = await queue.get();
    if (key === undefined) break;
    keys.push(key);
    queue.done(key);
  }
  return keys;
}

describe('WorkQueue', () => {
  let clock: FakeClock;
  let queue: WorkQueue;
  beforeEach(() => {
    clock = new FakeClock();
    queue = new WorkQueue(clock, { baseMs: 1_000, maxMs: 8_000 });
  });
  afterEach(() => queue.shutDown());

  it('hands out a key added many times only once', async () => {
    for (let i = 0; i < 100; i++) queue.add('web');
    queue.add('api');
    assert.deepEqual(await drain(queue), ['web', 'api']);
  });

  it('never hands out a key twice at once; an add during processing queues it once more afterwards', async () => {
    queue.add('web');
    const first = await queue.get();
    queue.add('web');
    queue.add('web');
    assert.equal(queue.depth, 0, 'not handed out while in progress');
    queue.done(first!);
    assert.equal(queue.depth, 1);
    assert.equal(await queue.get(), 'web');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const waiting = queue.get();
    queue.add('web');
    assert.equal(await waiting, 'web');
  });

  it('backs off exponentially with a cap', async () => {
    const delays: number[] = [];
    for (let failure = 0; failure < 6; failure++) {
      const before = clock.now();
      queue.addRateLimited('web');
      while (queue.depth === 0) await clock.advance(250);
      delays.push(clock.now() - before);
      await drain(queue);
    }
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  });

  it('holds plain adds of a key that is backing off, so events cannot hot-loop a failure', async () => {
    queue.add('web');
    const key = await queue.get();
    queue.addRateLimited(key!);
    queue.done(key!);
    queue.add('web');
    assert.equal(queue.depth, 0);
    await clock.advance(999);
    assert.equal(queue.depth, 0);
    await clock.advance(1);
    assert.equal(queue.depth, 1);
  });

  it('holds adds that arrived during a run that then failed, until the backoff has passed', async () => {
    queue.add('web');
    const key = await queue.get();
    queue.add('web'); // an engine event caused by the failing deploy itself
    queue.addRateLimited(key!);
    queue.done(key!);
    assert.equal(queue.depth, 0, 'not re-run at once');
    await clock.advance(1_000);
    assert.equal(queue.depth, 1);
  });

  it('runs a manifest edit made during a failing run right after it, without waiting for the backoff', async () => {
    queue.add('web');
    const key = await queue.get();
    queue.retryNow('web');
    queue.addRateLimited(key!);
    queue.done(key!);
    assert.equal(queue.depth, 1);
  });

  it('retryNow cancels the backoff (a manifest edit retries at once)', async () => {
    queue.add('web');
    const key = await queue.get();
    queue.addRateLimited(key!);
    queue.done(key!);
    queue.retryNow('web');
    assert.equal(queue.depth, 1);
    assert.equal(queue.nextBackoff('web'), 1_000, 'failure count reset');
  });

  it('forget resets the failure count after a success', async () => {
    queue.addRateLimited('web');
    queue.addRateLimited('web');
    assert.equal(queue.nextBackoff('web'), 4_000);
    queue.forget('web');
    assert.equal(queue.nextBackoff('web'), 1_000);
  });

  it('addAfter keeps the earliest of several delays and counts as pending work', async () => {
    queue.addAfter('web', 5_000);
    queue.addAfter('web', 2_000);
    queue.addAfter('web', 9_000);
    assert.equal(queue.isIdle(), false);
    await clock.advance(2_000);
    assert.equal(queue.depth, 1);
    await drain(queue);
    assert.equal(queue.isIdle(), true);
  });

  it('returns undefined to waiting workers on shutdown', async () => {
    const waiting = queue.get();
    queue.shutDown();
    assert.equal(await waiting, undefined);
  });
});
