import type { HttpCheck } from '../manifest/types.js';
import type { ContainerDetail, Runtime } from '../runtime/types.js';
import type { Clock } from '../util/clock.js';
import { CheckFailedError } from './errors.js';
import { loopbackPort } from '../runtime/loopback.js';

/**
 * The CHECKS-file equivalent: GET `check.path` on the container's port as published on
 * 127.0.0.1, up to `attempts` times, `wait` seconds before each attempt, `timeout` seconds each.
 * Passes on a 2xx/3xx answer whose body contains `check.content` (when set).
 * Traffic goes to loopback only, never to the container's bridge address.
 */
export async function httpCheck(runtime: Runtime, clock: Clock, containerId: string, check: HttpCheck, signal: AbortSignal): Promise<{ attempts: number }> {
  let lastProblem = 'no attempt made';
  for (let attempt = 1; attempt <= check.attempts; attempt++) {
    await clock.sleep(check.wait * 1000, signal);
    const container = await runtime.inspectContainer(containerId);
    if (container.state !== 'running') {
      throw new CheckFailedError(container.name, `container ${container.name} is ${container.state} (exit code ${container.exitCode})`);
    }
    const url = `http://127.0.0.1:${publishedLoopbackPort(container, check.port)}${check.path}`;
    lastProblem = await attemptOnce(url, check, signal);
    if (lastProblem === '') return { attempts: attempt };
  }
  const name = (await runtime.inspectContainer(containerId)).name;
  throw new CheckFailedError(name, `check ${check.path} on ${name} failed after ${check.attempts} attempts: ${lastProblem}`);
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

