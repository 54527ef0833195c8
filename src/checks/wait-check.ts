import type { Clock } from '../util/clock.js';
import type { ContainerDetail, Runtime } from '../runtime/types.js';
import { CheckFailedError } from './errors.js';

const POLL_MS = 1000;

/**
 * Dokku's "simple container check": the container must have been running, without a restart,
 * for `seconds` since it started. Measured from the container's own start time, so the check is
 * idempotent across a berth restart; it fails as soon as the container exits or restarts, and it
 * passes only on a look taken once the wait is over (still running, never restarted).
 */
export async function waitCheck(
  runtime: Runtime,
  clock: Clock,
  containerId: string,
  seconds: number,
  signal: AbortSignal,
): Promise<void> {
  const first = await runtime.inspectContainer(containerId);
  assertRunning(first);
  // A candidate that has already been restarted by the engine crashed once: no wait makes it pass.
  if (first.restartCount > 0)
    throw new CheckFailedError(
      first.name,
      `container ${first.name} restarted during the check${await exitOf(runtime, containerId, 0)}`,
    );
  const passesAt = first.startedAt + seconds * 1000;
  for (;;) {
    const remaining = passesAt - clock.now();
    if (remaining <= 0) break;
    await clock.sleep(Math.min(POLL_MS, remaining), signal);
    const now = await runtime.inspectContainer(containerId);
    assertRunning(now);
    if (now.restartCount > first.restartCount || now.startedAt !== first.startedAt) {
      throw new CheckFailedError(
        now.name,
        `container ${now.name} restarted during the check${await exitOf(runtime, containerId, first.startedAt)}`,
      );
    }
  }
}

function assertRunning(now: ContainerDetail): void {
  if (now.state !== 'running') {
    const reason = now.error ? `: ${now.error}` : '';
    throw new CheckFailedError(now.name, `container ${now.name} is ${now.state} (exit code ${now.exitCode})${reason}`);
  }
}

/** ` (exit code N)` of the crash behind a restart; '' when the engine cannot say, which never changes the verdict. */
async function exitOf(runtime: Runtime, containerId: string, sinceMs: number): Promise<string> {
  const exitCode = await runtime.lastExitCode(containerId, sinceMs).catch(() => undefined);
  return exitCode === undefined ? '' : ` (exit code ${exitCode})`;
}
