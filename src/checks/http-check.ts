import type { HttpCheck } from '../manifest/types.js';
import type { ContainerDetail, Runtime } from '../runtime/types.js';
import { attemptUntilPassed } from './attempts.js';
import type { Clock } from '../util/clock.js';
import { CheckFailedError } from './errors.js';
import { loopbackPort } from '../runtime/loopback.js';

/**
 * The CHECKS-file equivalent: GET `check.path` on the container's port as published on
 * 127.0.0.1, up to `attempts` times, `wait` seconds before each attempt, `timeout` seconds each.
 * Passes on a 2xx/3xx answer whose body contains `check.content` (when set).
 * Traffic goes to loopback only, never to the container's bridge address.
 */
export function httpCheck(runtime: Runtime, clock: Clock, containerId: string, check: HttpCheck, signal: AbortSignal): Promise<{ attempts: number }> {
  return attemptUntilPassed(
    { runtime, clock },
    containerId,
    check,
    signal,
    (container) => attemptOnce(`http://127.0.0.1:${publishedLoopbackPort(container, check.port)}${check.path}`, check, signal),
    (name, lastProblem) => `check ${check.path} on ${name} failed after ${check.attempts} attempts: ${lastProblem}`,
  );
}

/** '' when the attempt passed, else why it did not. */
async function attemptOnce(url: string, check: HttpCheck, signal: AbortSignal): Promise<string> {
  try {
    const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.any([signal, AbortSignal.timeout(check.timeout * 1000)]) });
    const body = await response.text();
    if (response.status < 200 || response.status >= 400) return `HTTP ${response.status}`;
    if (check.content !== undefined && !body.includes(check.content)) return `the body does not contain "${check.content}"`;
    return '';
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if ((error as Error).name === 'TimeoutError') return `no answer within ${check.timeout}s`;
    return (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
  }
}

function publishedLoopbackPort(container: ContainerDetail, port: number): number {
  const hostPort = loopbackPort(container.ports, port);
  if (hostPort === undefined) throw new CheckFailedError(container.name, `port ${port}/tcp of ${container.name} is not published on 127.0.0.1`);
  return hostPort;
}

