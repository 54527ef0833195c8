import type { ContainerDetail, Runtime } from '../runtime/types.js';
import type { Clock } from '../util/clock.js';
import { CheckFailedError } from './errors.js';

/**
 * The loop every check shares: up to `attempts` times, `wait` seconds before each, look at the
 * container (a stopped one fails the check at once) and try once (`''` passes, anything else says
 * why not). After the last attempt it fails with `failure(name, lastProblem)`.
 */
export async function attemptUntilPassed(
  deps: { runtime: Runtime; clock: Clock },
  containerId: string,
  schedule: { attempts: number; wait: number },
  signal: AbortSignal,
  attemptOnce: (container: ContainerDetail) => Promise<string>,
  failure: (name: string, lastProblem: string) => string,
): Promise<{ attempts: number }> {
  const { runtime, clock } = deps;
  let lastProblem = 'no attempt made';
  for (let attempt = 1; attempt <= schedule.attempts; attempt++) {
    await clock.sleep(schedule.wait * 1000, signal);
    const container = await runtime.inspectContainer(containerId);
    if (container.state !== 'running') {
      throw new CheckFailedError(
        container.name,
        `container ${container.name} is ${container.state} (exit code ${container.exitCode})`,
      );
    }
    lastProblem = await attemptOnce(container);
    if (lastProblem === '') return { attempts: attempt };
  }
  const name = (await runtime.inspectContainer(containerId)).name;
  throw new CheckFailedError(name, failure(name, lastProblem));
}
