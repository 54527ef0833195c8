/**
 * The Docker runtime where no real engine is needed: against a scripted stand-in (API version
 * negotiation, DOCKER_HOST over tcp, the event stream's framing and end) and against nothing at
 * all (every call rejects with EngineUnavailableError in one line). Unit tests: they run with
 * DOCKER_HOST pointing nowhere.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createDockerRuntime } from '../../../../src/runtime/docker/docker-runtime.js';
import { EngineTimeoutError, EngineUnavailableError } from '../../../../src/runtime/errors.js';
import type { ContainerCreateSpec, Runtime, RuntimeEvent } from '../../../../src/runtime/types.js';
import { listenOnFreePort, rejectsWith, sleep, waitFor, withEnv } from '../../../support/runtime-assertions.js';
import { ScriptedEngine } from '../../../support/scripted-engine.js';

const SECRET = `s3cret-${randomBytes(6).toString('hex')}`;

describe('docker runtime against a scripted engine', function () {
  const engines: ScriptedEngine[] = [];
  let dir: string;

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-engine-'));
  });

  afterEach(async function () {
    for (const engine of engines.splice(0)) await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function scriptedEngine(
    apiVersion: string,
    where: { socketPath: string } | { tcp: true },
  ): Promise<ScriptedEngine> {
    const engine = await ScriptedEngine.listen(apiVersion, where);
    engines.push(engine);
    return engine;
  }

  it('speaks the API version the engine reports, and negotiates again after the engine was away', async function () {
    const socketPath = join(dir, 'engine.sock');
    const runtime = createDockerRuntime({ dockerHost: `unix://${socketPath}` });
    const first = await scriptedEngine('1.99', { socketPath });

    assert.deepEqual(await runtime.ping(), { engineVersion: 'scripted', apiVersion: '1.99' });
    assert.deepEqual(await runtime.listContainers('ns'), []);
    assert.equal(first.paths[0], '/_ping');
    assert.match(first.paths[1] ?? '', /^\/v1\.99\/containers\/json\?/);

    await first.close();
    await rejectsWith(runtime.listContainers('ns'), EngineUnavailableError, 'listContainers', socketPath);

    const second = await scriptedEngine('1.52', { socketPath });
    assert.deepEqual(await runtime.listContainers('ns'), []);
    assert.deepEqual(
      second.paths.map((path) => path.split('?')[0]),
      ['/_ping', '/v1.52/containers/json'],
    );
  });

  it('asks GET /version when GET /_ping does not say the API version', async function () {
    const socketPath = join(dir, 'engine.sock');
    const engine = await scriptedEngine('1.43', { socketPath });
    engine.pingSaysVersion = false;
    const runtime = createDockerRuntime({ dockerHost: `unix://${socketPath}` });
    assert.deepEqual(await runtime.ping(), { engineVersion: 'scripted', apiVersion: '1.43' });
    assert.deepEqual(await runtime.listContainers('ns'), []);
    assert.deepEqual(
      engine.paths.map((path) => path.split('?')[0]),
      ['/_ping', '/version', '/v1.43/containers/json'],
    );
  });

  it("gives up on a hung engine at each call's deadline with EngineTimeoutError, and works again once it answers", async function () {
    const socketPath = join(dir, 'engine.sock');
    const engine = await scriptedEngine('1.44', { socketPath });
    const runtime = createDockerRuntime({
      dockerHost: `unix://${socketPath}`,
      deadlinesMs: { listContainers: 300, ping: 300 },
    });
    assert.deepEqual(await runtime.listContainers('ns'), []);
    engine.hung = true;
    const started = Date.now();
    const error = await rejectsWith(
      runtime.listContainers('ns'),
      EngineTimeoutError,
      'listContainers',
      `the Docker engine at unix://${socketPath} did not answer within 0.3 s`,
    );
    assert.ok(error instanceof EngineUnavailableError, 'a hung engine counts as an unreachable one');
    assert.ok(Date.now() - started < 2_000, 'the call returned at its deadline');
    await rejectsWith(runtime.ping(), EngineTimeoutError, 'ping');
    engine.hung = false;
    assert.deepEqual(await runtime.listContainers('ns'), []);
    assert.ok(
      engine.paths.filter((p) => p === '/_ping').length >= 2,
      'the API version is negotiated again after the hang',
    );
  });

  it('honours DOCKER_HOST=tcp://127.0.0.1:<port>', async function () {
    const engine = await scriptedEngine('1.44', { tcp: true });
    const runtime = withEnv({ DOCKER_HOST: `tcp://127.0.0.1:${engine.port}` }, () => createDockerRuntime());
    assert.deepEqual(await runtime.ping(), { engineVersion: 'scripted', apiVersion: '1.44' });
  });

  it('parses events split anywhere across chunks, and calls onError once when the engine ends the stream', async function () {
    const socketPath = join(dir, 'engine.sock');
    const engine = await scriptedEngine('1.41', { socketPath });
    const runtime = createDockerRuntime({ dockerHost: `unix://${socketPath}` });
    const events: RuntimeEvent[] = [];
    const errors: Error[] = [];
    await runtime.subscribe(
      'ns',
      (event) => events.push(event),
      (error) => errors.push(error),
    );
    const stream = await waitFor('the event stream', () => engine.eventStreams[0]);

    const managed = { 'berth.managed': 'true', 'berth.namespace': 'ns', 'berth.app': 'web', note: 'café' };
    const wire = Buffer.from(
      `${[
        { Type: 'container', Action: 'exec_start: sh -c true', Actor: { ID: 'c1', Attributes: managed } },
        {
          Type: 'container',
          Action: 'die',
          Actor: { ID: 'c2', Attributes: { ...managed, 'berth.namespace': 'other' } },
        },
        { Type: 'container', Action: 'start', Actor: { ID: 'c3', Attributes: { 'berth.namespace': 'ns' } } },
        { Type: 'network', Action: 'connect', Actor: { ID: 'n1', Attributes: {} } },
        { Type: 'container', Action: 'die', Actor: { ID: 'c1', Attributes: managed } },
        { Type: 'container', Action: 'health_status: healthy', Actor: { ID: 'c1', Attributes: managed } },
        { Type: 'image', Action: 'tag', Actor: { ID: 'sha256:abc', Attributes: { name: 'ns/web:v2' } } },
      ]
        .map((event) => JSON.stringify(event))
        .join('\n')}\nnot json\n`,
    );
    const splitInsideE = wire.indexOf(Buffer.from('é')) + 1;
    for (const [start, end] of [
      [0, 7],
      [7, splitInsideE],
      [splitInsideE, wire.length - 20],
      [wire.length - 20, wire.length],
    ] as const) {
      stream.write(wire.subarray(start, end));
      await sleep(20);
    }

    await waitFor('three events', () => (events.length >= 3 ? true : undefined));
    assert.deepEqual(events, [
      { kind: 'container', action: 'die', id: 'c1', namespace: 'ns', app: 'web' },
      { kind: 'container', action: 'health_status', id: 'c1', namespace: 'ns', app: 'web' },
      { kind: 'image', action: 'tag', id: 'sha256:abc', ref: 'ns/web:v2' },
    ]);
    assert.equal(errors.length, 0);

    stream.end();
    await waitFor('onError', () => errors[0]);
    await sleep(100);
    assert.equal(errors.length, 1);
    const [error] = errors;
    assert.ok(error instanceof EngineUnavailableError);
    assert.equal(error.operation, 'subscribe');
  });

  it('does not call onError after close(), and releases the connection', async function () {
    const socketPath = join(dir, 'engine.sock');
    const engine = await scriptedEngine('1.41', { socketPath });
    const runtime = createDockerRuntime({ dockerHost: `unix://${socketPath}` });
    const errors: Error[] = [];
    const subscription = await runtime.subscribe(
      'ns',
      () => undefined,
      (error) => errors.push(error),
    );
    const stream = await waitFor('the event stream', () => engine.eventStreams[0]);
    const released = new Promise((resolve) => stream.once('close', resolve));

    subscription.close();
    await released;
    await sleep(100);
    assert.deepEqual(errors, []);
  });
});

describe('docker runtime without an engine', function () {
  let dir: string;

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'berth-no-engine-'));
  });

  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  const spec: ContainerCreateSpec = {
    name: 'ns.web.0',
    image: 'ns/web:v1',
    env: { SECRET_TOKEN: SECRET },
    labels: {},
    ports: [],
    volumes: [],
    resources: {},
  };

  /** Every kind of call rejects with EngineUnavailableError naming `where`, in one line, without env values. */
  async function assertAllUnavailable(runtime: Runtime, where: string): Promise<void> {
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['ping', () => runtime.ping()],
      ['listContainers', () => runtime.listContainers('ns')],
      ['inspectContainer', () => runtime.inspectContainer('x')],
      ['createContainer', () => runtime.createContainer(spec)],
      ['startContainer', () => runtime.startContainer('x')],
      ['stopContainer', () => runtime.stopContainer('x', 1)],
      ['removeContainer', () => runtime.removeContainer('x')],
      ['containerLogs', () => runtime.containerLogs('x', 10, [])],
      ['inspectImage', () => runtime.inspectImage('ns/web:v1')],
      ['listImages', () => runtime.listImages('ns/web')],
      ['pullImage', () => runtime.pullImage('ns/web:v1')],
      ['tagImage', () => runtime.tagImage('ns/web:v1', 'ns/web', 'latest')],
      ['untagImage', () => runtime.untagImage('ns/web:v1')],
      [
        'subscribe',
        () =>
          runtime.subscribe(
            'ns',
            () => undefined,
            () => undefined,
          ),
      ],
    ];
    for (const [operation, call] of calls) {
      const error = await rejectsWith(call(), EngineUnavailableError, operation, where);
      assert.ok(!error.message.includes(SECRET));
    }
  }

  it('rejects every call with EngineUnavailableError when DOCKER_HOST names a missing unix socket', async function () {
    const socketPath = join(dir, 'missing.sock');
    const runtime = withEnv({ DOCKER_HOST: `unix://${socketPath}` }, () => createDockerRuntime());
    await assertAllUnavailable(runtime, socketPath);
  });

  it('rejects every call with EngineUnavailableError when nobody listens on the unix socket', async function () {
    const socketPath = join(dir, 'dead.sock');
    // A process that exits while listening leaves its socket file behind: connecting is refused.
    await promisify(execFile)(process.execPath, [
      '-e',
      'require("net").createServer().listen(process.argv[1], () => process.exit(0))',
      socketPath,
    ]);
    await assertAllUnavailable(createDockerRuntime({ dockerHost: `unix://${socketPath}` }), socketPath);
  });

  it('rejects with EngineUnavailableError when nothing listens on a tcp DOCKER_HOST', async function () {
    const server = await listenOnFreePort();
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    const runtime = createDockerRuntime({ dockerHost: `tcp://127.0.0.1:${port}` });
    await rejectsWith(runtime.ping(), EngineUnavailableError, 'ping', `tcp://127.0.0.1:${port}`, 'ECONNREFUSED');
  });

  it('rejects with EngineUnavailableError naming an unsupported DOCKER_HOST', async function () {
    const runtime = createDockerRuntime({ dockerHost: 'ftp://127.0.0.1' });
    await rejectsWith(runtime.listContainers('ns'), EngineUnavailableError, 'listContainers', 'ftp://127.0.0.1');
  });
});
