import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { canaryWeights } from '../../../src/proxy/canary-weights.js';

/** The share of requests nginx's weighted round-robin gives the canary's servers together. */
function canaryShare(stableServers: number, canaryServers: number, percent: number): number {
  const w = canaryWeights(stableServers, canaryServers, percent);
  return (canaryServers * w.canary) / (stableServers * w.stable + canaryServers * w.canary);
}

describe('canaryWeights', () => {
  it('gives 1 stable and 1 canary server at 10% the weights 9 and 1', () => {
    assert.deepEqual(canaryWeights(1, 1, 10), { stable: 9, canary: 1 });
  });

  it('gives 2 stable and 1 canary server at 25% the weights 3, 3 and 2', () => {
    assert.deepEqual(canaryWeights(2, 1, 25), { stable: 3, canary: 2 });
  });

  it('gives the canary exactly its percent with 1-3 servers on each side at 10, 25 and 50%', () => {
    for (const percent of [10, 25, 50])
      for (let stable = 1; stable <= 3; stable++)
        for (let canary = 1; canary <= 3; canary++)
          assert.equal(canaryShare(stable, canary, percent), percent / 100, `${stable}+${canary} at ${percent}%`);
    assert.deepEqual(canaryWeights(1, 1, 50), { stable: 1, canary: 1 });
    assert.deepEqual(canaryWeights(3, 2, 50), { stable: 2, canary: 3 });
    assert.deepEqual(canaryWeights(3, 1, 10), { stable: 3, canary: 1 });
  });

  it('gives any integer percent exactly, with the smallest weights that do', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 99 }),
        (s, c, p) => {
          const w = canaryWeights(s, c, p);
          assert.ok(Number.isInteger(w.stable) && Number.isInteger(w.canary) && w.stable >= 1 && w.canary >= 1);
          // exact in integers: canary·c·100 = p·(stable·s + canary·c)
          assert.equal(w.canary * c * 100, p * (w.stable * s + w.canary * c));
          let [a, b] = [w.stable, w.canary];
          while (b !== 0) [a, b] = [b, a % b];
          assert.equal(a, 1);
        },
      ),
    );
  });

  it('refuses a percent that is no split and a side without servers', () => {
    for (const percent of [0, 100, 10.5, Number.NaN]) assert.throws(() => canaryWeights(1, 1, percent), RangeError);
    assert.throws(() => canaryWeights(0, 1, 10), RangeError);
    assert.throws(() => canaryWeights(1, 0, 10), RangeError);
  });
});
