import type { Clock } from '../util/clock.js';
import type { ContainerDetail, Runtime } from '../runtime/types.js';
import { CheckFailedError } from './errors.js';

const POLL_MS = 1000;

/**
 * Dokku's "simple container check": the container must have been running, without a restart,
 * for `seconds` since it started. Measured from the container's own start time, so the check is
 * idempotent across a berth restart; it fails as soon as the container exits or restarts.
 */
export async function waitCheck(runtime: Runtime, clock: Clock, containerId: string, seconds: number, signal: AbortSignal): Promise<void> {
  const first = await runtime.inspectContainer(containerId);
  assertUp(first, first);
  const passesAt = first.startedAt + seconds * 1000;
  for (;;) {
    const remaining = passesAt - clock.now();
    if (remaining <= 0) break;
    await clock.sleep(Math.min(POLL_MS, remaining), signal);
    assertUp(await runtime.inspectContainer(containerId), first);
  }
}

function assertUp(now: ContainerDetail, first: ContainerDetail): void {
  if (now.state !== 'running') {
    const reason = now.error ? `: ${now.error}` : '';
    throw new CheckFailedError(now.name, `container ${now.name} is ${now.state} (exit code ${now.exitCode})${reason}`);
  }
  if (now.restartCount > first.restartCount || now.startedAt !== first.startedAt) {
    throw new CheckFailedError(now.name, `container ${now.name} restarted during the check`);
  }
}
