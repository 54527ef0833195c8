/**
 * nginx server weights that send a canary its share of an app's requests. Pure.
 *
 * nginx's weighted round-robin gives each server `weight / sum of weights` of the requests (smooth:
 * within one cycle of the weights' sum, exactly). With `s` stable servers of weight `ws` and `c`
 * canary servers of weight `wc`, the canary gets `c·wc / (s·ws + c·wc)`; with `wc = p·s` and
 * `ws = (100 − p)·c` that is `p·s·c / (100·s·c)`, exactly `p`%. Both are divided by their greatest
 * common divisor so the cycle is as short as it can be (1 stable, 1 canary at 10% -> 9 and 1).
 */

/** Each stable server's weight and each canary server's weight. */
export interface CanaryWeights {
  stable: number;
  canary: number;
}

/**
 * The weights that give `canaryServers` servers together `percent`% of the requests and
 * `stableServers` servers the rest. Throws RangeError unless both counts are positive integers and
 * `percent` an integer 1-99 (0 and 100 are no split: route to one revision alone).
 */
export function canaryWeights(stableServers: number, canaryServers: number, percent: number): CanaryWeights {
  if (!Number.isInteger(stableServers) || stableServers < 1)
    throw new RangeError(`a canary split needs at least one stable server, not ${stableServers}`);
  if (!Number.isInteger(canaryServers) || canaryServers < 1)
    throw new RangeError(`a canary split needs at least one canary server, not ${canaryServers}`);
  if (!Number.isInteger(percent) || percent < 1 || percent > 99)
    throw new RangeError(`a canary's share is an integer percent 1-99, not ${percent}`);
  const canary = percent * stableServers;
  const stable = (100 - percent) * canaryServers;
  const divisor = gcd(canary, stable);
  return { stable: stable / divisor, canary: canary / divisor };
}

function gcd(a: number, b: number): number {
  let [x, y] = [a, b];
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}
