/** Assertions and helpers shared by the Docker runtime's tests, with and without an engine. */
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:net';
import type { RuntimeError } from '../../src/runtime/errors.js';

/**
 * Asserts `promise` rejects with an `errorClass` whose operation is `operation` and whose one-line
 * message names the operation and contains every fragment; resolves to the error.
 */
export async function rejectsWith<E extends RuntimeError>(
  promise: Promise<unknown>,
  errorClass: new (...args: never[]) => E,
  operation: string,
  ...fragments: string[]
): Promise<E> {
  const caught: unknown = await promise.then(
    () => assert.fail(`expected ${errorClass.name}, but it resolved`),
    (error: unknown) => error,
  );
  assert.ok(caught instanceof errorClass, `expected ${errorClass.name}, got ${String(caught)}`);
  assert.equal(caught.operation, operation);
  assert.ok(caught.message.startsWith(`${operation} `), caught.message);
  assert.doesNotMatch(caught.message, /\n/);
  for (const fragment of fragments)
    assert.ok(caught.message.includes(fragment), `"${caught.message}" lacks "${fragment}"`);
  return caught;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function withEnv<T>(overrides: Record<string, string>, create: () => T): T {
  const saved = Object.fromEntries(Object.keys(overrides).map((key) => [key, process.env[key]]));
  Object.assign(process.env, overrides);
  try {
    return create();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

export function listenOnFreePort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
