import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  judgeCanaryStep,
  type CanaryStepInput,
  type CanaryThresholds,
} from '../../../../src/proxy/access-log/judge-canary-step.js';

const spec: CanaryThresholds = { maxErrorRate: 1, maxLatencyP95: 500, minRequests: 50, interval: 30 };
const START = 1_000_000;

function step(overrides: Partial<CanaryStepInput>): CanaryStepInput {
  return {
    canary: { requests: 100, errors: 0, p95Ms: 20 },
    stable: { requests: 900, errors: 0, p95Ms: 20 },
    spec,
    stepStartedAt: START,
    now: START + 31_000,
    percent: 10,
    ...overrides,
  };
}

describe('judging a canary step', () => {
  it('waits for enough requests, saying how many', () => {
    const verdict = judgeCanaryStep(step({ canary: { requests: 12, errors: 12 } }));
    assert.equal(verdict.kind, 'wait');
    assert.equal(verdict.kind === 'wait' && verdict.reason, '10%: 12 of 50 requests');
  });

  it('aborts a failing canary at once, with its numbers beside the stable revision', () => {
    const verdict = judgeCanaryStep(
      step({ canary: { requests: 412, errors: 29 }, stable: { requests: 3702, errors: 7 }, now: START + 5_000 }),
    );
    assert.deepEqual(verdict, {
      kind: 'abort',
      reason: '7.0% errors over 412 requests at 10% (the stable revision: 0.2% over 3,702)',
      canary: { requests: 412, errors: 29, errorRate: (29 / 412) * 100 },
    });
  });

  it('waits when the stable revision fails alike in the same window', () => {
    const verdict = judgeCanaryStep(
      step({ canary: { requests: 400, errors: 28 }, stable: { requests: 3600, errors: 216 } }),
    );
    assert.equal(verdict.kind, 'wait');
    assert.equal(
      verdict.kind === 'wait' && verdict.reason,
      'the stable revision fails alike (6.0% errors): the backend fails for everyone; waiting',
    );
  });

  it('aborts a canary clearly worse than a stable revision that fails a little too', () => {
    const verdict = judgeCanaryStep(
      step({ canary: { requests: 400, errors: 40 }, stable: { requests: 3600, errors: 72 } }),
    );
    assert.equal(verdict.kind, 'abort');
  });

  it('does not call a stable revision with too few requests of its own failing alike', () => {
    const verdict = judgeCanaryStep(
      step({ canary: { requests: 400, errors: 40 }, stable: { requests: 3, errors: 3 } }),
    );
    assert.equal(verdict.kind, 'abort');
  });

  it('aborts a slow canary, and waits when the stable revision is as slow', () => {
    const slow = judgeCanaryStep(step({ canary: { requests: 100, errors: 0, p95Ms: 812 } }));
    assert.equal(slow.kind, 'abort');
    assert.equal(
      slow.kind === 'abort' && slow.reason,
      'p95 812 ms over 100 requests at 10%, above 500 ms (the stable revision: p95 20 ms)',
    );
    const alike = judgeCanaryStep(
      step({ canary: { requests: 100, errors: 0, p95Ms: 812 }, stable: { requests: 900, errors: 0, p95Ms: 790 } }),
    );
    assert.equal(alike.kind, 'wait');
  });

  it('ignores latency without a maxLatencyP95', () => {
    const { maxLatencyP95: _, ...withoutLatency } = spec;
    const verdict = judgeCanaryStep(step({ spec: withoutLatency, canary: { requests: 100, errors: 0, p95Ms: 9000 } }));
    assert.equal(verdict.kind, 'pass');
  });

  it('waits out the interval, then passes', () => {
    const early = judgeCanaryStep(step({ now: START + 18_500 }));
    assert.equal(early.kind === 'wait' && early.reason, '10%: 0.0% errors over 100 requests, 18 of 30 s');
    assert.equal(judgeCanaryStep(step({ now: START + 30_000 })).kind, 'pass');
  });

  it('never passes before the interval or below minRequests, never aborts within thresholds', () => {
    const stats = fc.record({
      requests: fc.integer({ min: 0, max: 5000 }),
      errorShare: fc.double({ min: 0, max: 1, noNaN: true }),
      p95Ms: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
    });
    const toStats = (s: { requests: number; errorShare: number; p95Ms: number | undefined }) => ({
      requests: s.requests,
      errors: Math.floor(s.requests * s.errorShare),
      ...(s.p95Ms === undefined ? {} : { p95Ms: s.p95Ms }),
    });
    fc.assert(
      fc.property(stats, stats, fc.integer({ min: 0, max: 60_000 }), (c, s, elapsed) => {
        const canary = toStats(c);
        const input = step({ canary, stable: toStats(s), now: START + elapsed });
        const verdict = judgeCanaryStep(input);
        const rate = canary.requests === 0 ? 0 : (canary.errors / canary.requests) * 100;
        const within =
          rate <= spec.maxErrorRate + 1e-9 && (canary.p95Ms === undefined || canary.p95Ms <= spec.maxLatencyP95!);
        if (verdict.kind === 'pass') assert.ok(elapsed >= 30_000 && canary.requests >= 50 && within);
        if (verdict.kind === 'abort') assert.ok(canary.requests >= 50 && !within);
        if (canary.requests >= 50 && within && elapsed >= 30_000) assert.equal(verdict.kind, 'pass');
      }),
    );
  });

  it('never blames the canary for what the stable revision shows alike', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 5000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 5000 }),
        (requests, share, p95Ms) => {
          const same = { requests, errors: Math.floor(requests * share), p95Ms };
          assert.notEqual(judgeCanaryStep(step({ canary: same, stable: same })).kind, 'abort');
        },
      ),
    );
  });
});
