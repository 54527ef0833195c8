import { strict as assert } from 'node:assert';
import { createServer, type Server, type Socket } from 'node:net';
import { PullError } from '../../../src/runtime/errors.js';
import { createSwarmRuntime } from '../../../src/runtime/docker/swarm-runtime.js';
import { buildTestImage, cleanupNamespace, uniqueNamespace } from '../../support/docker.js';
import { rejectsWith } from '../../support/runtime-assertions.js';

/** The push `--swarm-registry` asks for needs no swarm: the engine pushes, the registry answers (or not). */
describe('the Swarm runtime pushes to the swarm registry (real engine)', function () {
  const namespace = uniqueNamespace();

  after(async function () {
    await cleanupNamespace(namespace);
  });

  it('abandons a push to a registry that accepts the connection and never answers, naming the stall', async function () {
    const held: Socket[] = [];
    const silent: Server = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const registry = `127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      await buildTestImage(`${namespace}/web`, 'v1');
      const services = createSwarmRuntime({ pushStallMs: 2_000 });
      const began = Date.now();
      await rejectsWith(
        services.pushImage(`${namespace}/web:v1`, `${registry}/${namespace}/web:v1`),
        PullError,
        'pushImage',
        `${registry}/${namespace}/web:v1: no progress from the engine for 2 s`,
      );
      const tookMs = Date.now() - began;
      assert.ok(tookMs < 30_000, `abandoned after ${tookMs} ms, not held for ever`);
      assert.ok(held.length > 0, 'the engine did reach the silent registry');
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('pushes to a registry that answers and resolves to the pinned reference', async function () {
    await buildTestImage(`${namespace}/web`, 'v2');
    const services = createSwarmRuntime({ pushStallMs: 30_000 });
    const pinned = await services.pushImage(`${namespace}/web:v2`, `127.0.0.1:5000/${namespace}/web:v2`);
    assert.match(pinned, new RegExp(`^127\\.0\\.0\\.1:5000/${namespace}/web:v2@sha256:[0-9a-f]{64}$`));
  });
});
