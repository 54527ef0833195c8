import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { AttemptLog } from '../../../../src/proxy/access-log/attempt-log.js';
import { percentile, revisionStats } from '../../../../src/proxy/access-log/revision-stats.js';

const CANARY = '127.0.0.1:9001';
const STABLE_A = '127.0.0.1:8001';
const STABLE_B = '127.0.0.1:8002';
const revisions = new Map([
  ['v2', [CANARY]],
  ['v1', [STABLE_A, STABLE_B]],
]);

describe('revision stats', () => {
  it('counts each attempt of a retry for its own upstream: the canary the failure, the stable one the answer', () => {
    const log = new AttemptLog();
    log.add(1000, 1000, [
      { address: CANARY, status: 502 },
      { address: STABLE_A, status: 200, responseMs: 3 },
    ]);
    log.add(1001, 1001, [{ address: STABLE_B, status: 200, responseMs: 5 }]);
    const stats = revisionStats(log, revisions, 0);
    assert.deepEqual(stats.get('v2'), { requests: 1, errors: 1 });
    assert.deepEqual(stats.get('v1'), { requests: 2, errors: 0, p95Ms: 5 });
  });

  it('counts 5xx answers and nginx 502/504 as errors, 4xx not', () => {
    const log = new AttemptLog();
    for (const status of [200, 404, 499, 500, 502, 503, 504]) log.add(1000, 1000, [{ address: CANARY, status }]);
    assert.deepEqual(revisionStats(log, revisions, 0).get('v2'), { requests: 7, errors: 4 });
  });

  it('counts an attempt with no answer read for nobody, and an address of no revision for nobody', () => {
    const log = new AttemptLog();
    log.add(1000, 1000, [{ address: CANARY, responseMs: 100 }]);
    log.add(1000, 1000, [{ address: 'berth.prod.web', status: 502 }]);
    const stats = revisionStats(log, revisions, 0);
    assert.deepEqual(stats.get('v2'), { requests: 0, errors: 0 });
    assert.deepEqual(stats.get('v1'), { requests: 0, errors: 0 });
  });

  it('counts only the window since the step started, by nginx clock', () => {
    const log = new AttemptLog();
    log.add(999, 5000, [{ address: CANARY, status: 500 }]);
    log.add(1000, 5000, [{ address: CANARY, status: 200 }]);
    assert.deepEqual(revisionStats(log, revisions, 1000).get('v2'), { requests: 1, errors: 0 });
  });

  it('keeps at most its capacity, trimming the busiest address so the canary keeps its few', () => {
    const log = new AttemptLog(100);
    for (let i = 0; i < 10; i++) log.add(i, i, [{ address: CANARY, status: 500 }]);
    for (let i = 0; i < 1000; i++) log.add(i, i, [{ address: STABLE_A, status: 200 }]);
    assert.equal(log.kept, 100);
    const stats = revisionStats(log, revisions, 0);
    assert.deepEqual(stats.get('v2'), { requests: 10, errors: 10 });
    assert.equal(stats.get('v1')?.requests, 90);
  });

  it('forgets the address heard from least recently beyond its address bound', () => {
    const log = new AttemptLog(1000, 2);
    log.add(1, 1, [{ address: STABLE_A, status: 200 }]);
    log.add(2, 2, [{ address: STABLE_B, status: 200 }]);
    log.add(3, 3, [{ address: CANARY, status: 200 }]);
    assert.equal(log.kept, 2);
    assert.deepEqual([...log.attemptsAt(STABLE_A)], []);
    assert.equal([...log.attemptsAt(CANARY)].length, 1);
  });

  it('never holds more than its capacity, whatever arrives', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 3 }), { maxLength: 300 }),
        (capacity, requests) => {
          const log = new AttemptLog(capacity, 8);
          for (const [i, ports] of requests.entries()) {
            log.add(
              i,
              i,
              ports.map((port) => ({ address: `127.0.0.1:${port}`, status: 200 })),
            );
            assert.ok(log.kept <= capacity);
          }
          let counted = 0;
          for (let port = 1; port <= 20; port++) counted += [...log.attemptsAt(`127.0.0.1:${port}`)].length;
          assert.equal(counted, log.kept);
        },
      ),
    );
  });

  it('takes the nearest-rank 95th percentile', () => {
    assert.equal(percentile([], 95), undefined);
    assert.equal(percentile([7], 95), 7);
    assert.equal(
      percentile(
        Array.from({ length: 100 }, (_, i) => 100 - i),
        95,
      ),
      95,
    );
  });

  it('adds up: every attempt with a status counts once, under its own revision', () => {
    const addresses = [CANARY, STABLE_A, STABLE_B];
    const attempt = fc.record({
      address: fc.constantFrom(...addresses),
      status: fc.oneof(fc.integer({ min: 100, max: 599 }), fc.constant(undefined)),
    });
    fc.assert(
      fc.property(fc.array(fc.array(attempt, { minLength: 1, maxLength: 4 }), { maxLength: 200 }), (requests) => {
        const log = new AttemptLog();
        for (const attempts of requests)
          log.add(
            1,
            1,
            attempts.map((a) => (a.status === undefined ? { address: a.address } : a)),
          );
        const stats = revisionStats(log, revisions, 0);
        const flat = requests.flat().filter((a) => a.status !== undefined);
        const total = (stats.get('v1')?.requests ?? 0) + (stats.get('v2')?.requests ?? 0);
        assert.equal(total, flat.length);
        const canaryErrors = flat.filter((a) => a.address === CANARY && a.status! >= 500).length;
        assert.equal(stats.get('v2')?.errors, canaryErrors);
      }),
    );
  });
});
