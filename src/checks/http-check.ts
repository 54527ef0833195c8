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
export function httpCheck(
  runtime: Runtime,
  clock: Clock,
  containerId: string,
  check: HttpCheck,
  signal: AbortSignal,
): Promise<{ attempts: number }> {
  return attemptUntilPassed(
    { runtime, clock },
    containerId,
    check,
    signal,
    (container) =>
      attemptOnce(`http://127.0.0.1:${publishedLoopbackPort(container, check.port)}${check.path}`, check, signal),
    (name, lastProblem) => `check ${check.path} on ${name} failed after ${check.attempts} attempts: ${lastProblem}`,
  );
}

/** How much of a body `content` is looked for in; the rest is never read. */
const CHECK_BODY_LIMIT_BYTES = 64 * 1024;

/** '' when the attempt passed, else why it did not. */
async function attemptOnce(url: string, check: HttpCheck, signal: AbortSignal): Promise<string> {
  try {
    const response = await fetch(url, {
      redirect: 'manual',
      signal: AbortSignal.any([signal, AbortSignal.timeout(check.timeout * 1000)]),
    });
    if (response.status < 200 || response.status >= 400 || check.content === undefined) {
      await response.body?.cancel().catch(() => undefined);
      return response.status < 200 || response.status >= 400 ? `HTTP ${response.status}` : '';
    }
    const { text, cut } = await bodyPrefix(response, CHECK_BODY_LIMIT_BYTES);
    if (!text.includes(check.content))
      return `the body does not contain "${check.content}"${cut ? ` in its first ${CHECK_BODY_LIMIT_BYTES / 1024} KiB` : ''}`;
    return '';
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if ((error as Error).name === 'TimeoutError') return `no answer within ${check.timeout}s`;
    const code = (error as { cause?: { code?: string } }).cause?.code;
    // The published port accepts before the app listens behind it, then drops the connection.
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET')
      return `the connection was closed before a whole answer (${code}): is the app listening on port ${check.port}?`;
    return code ?? (error as Error).message;
  }
}

/** The first `limit` bytes of the body as text (`cut` when there was more); the rest is never read. */
async function bodyPrefix(response: Response, limit: number): Promise<{ text: string; cut: boolean }> {
  const reader = response.body?.getReader();
  if (!reader) return { text: '', cut: false };
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text: Buffer.concat(chunks).toString('utf8'), cut: false };
      chunks.push(value.subarray(0, limit - length));
      length += value.length;
      // Exactly at the limit: one more read tells whether there was more; a reset there (the sender
      // cut off mid-stream) means there was.
      if (length >= limit)
        return {
          text: Buffer.concat(chunks).toString('utf8'),
          cut:
            length > limit ||
            (await reader.read().then(
              (next) => !next.done,
              () => true,
            )),
        };
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function publishedLoopbackPort(container: ContainerDetail, port: number): number {
  const hostPort = loopbackPort(container.ports, port);
  if (hostPort === undefined)
    throw new CheckFailedError(container.name, `port ${port}/tcp of ${container.name} is not published on 127.0.0.1`);
  return hostPort;
}
