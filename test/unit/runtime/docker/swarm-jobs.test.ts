/**
 * The Swarm runtime's jobs against a stand-in engine on a unix socket (no swarm needed): what
 * POST /services/create is sent for a job, the API version and the created mode checked, a job's
 * task read, its output read through the service logs API (framed, bounded, redacted), and jobs
 * kept apart from services and their tasks.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSwarmRuntime } from '../../../../src/runtime/docker/swarm-runtime.js';
import { EngineError } from '../../../../src/runtime/errors.js';
import type { JobSpec } from '../../../../src/runtime/services.js';

const SECRET = 'hunter2-never-shown';

const JOB: JobSpec = {
  name: 'dokku_web_release_0123456789',
  labels: {
    'berth.managed': 'true',
    'berth.namespace': 'dokku',
    'berth.app': 'web',
    'berth.role': 'release',
    'berth.revision': 'abc@sha256:1',
  },
  image: '127.0.0.1:5000/team/web:v2@sha256:1111',
  command: ['./migrate', 'up'],
  env: { DB_PASSWORD: SECRET },
  volumes: [{ source: 'web-data', target: '/data', readOnly: false }],
  secrets: [],
  resources: { memory: '64m' },
};

/** The parts of a job's create request the tests read. */
interface SentJob {
  Name: string;
  Labels: Record<string, string>;
  Mode: unknown;
  EndpointSpec?: unknown;
  TaskTemplate: {
    RestartPolicy: unknown;
    ContainerSpec: { Image: string; Labels: Record<string, string>; Args: string[]; Env: string[]; Mounts: unknown[] };
    Resources: { Limits: { MemoryBytes?: number } };
  };
}

/** One frame of the engine's multiplexed log stream. */
const frame = (stream: 1 | 2, text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header.writeUInt8(stream, 0);
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

/** A stand-in engine: records each request; `mode` is what an inspect reports of the made service. */
class StubEngine {
  readonly requests: { method: string; path: string; body: unknown }[] = [];
  mode: Record<string, unknown> | undefined;
  logs = Buffer.alloc(0);
  /** The state of the job's task. */
  taskState = 'failed';
  private readonly server: Server;

  constructor(
    private readonly apiVersion: string,
    readonly socketPath: string,
  ) {
    this.server = createServer((req, res) => void this.answer(req, res));
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.socketPath, resolve));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    const path = req.url ?? '';
    this.requests.push({ method: req.method ?? '', path, body: text ? JSON.parse(text) : undefined });
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/_ping') {
      res.writeHead(200, { 'Api-Version': this.apiVersion, Server: 'Docker/stub (linux)' });
      return void res.end('OK');
    }
    const route = path.replace(/^\/v[\d.]+/, '');
    const created = this.requests.find((r) => r.path.endsWith('/services/create'))?.body as
      | { Spec?: unknown; Mode?: unknown; Labels?: Record<string, string> }
      | undefined;
    if (route === '/services/create') return json(201, { ID: 'job1' });
    if (route === '/services/job1' && req.method === 'GET')
      return json(200, { ID: 'job1', Spec: { ...created, Mode: this.mode ?? created?.Mode } });
    if (route === '/services/job1' && req.method === 'DELETE') return json(200, {});
    if (route.startsWith('/services/job1/update')) return json(200, {});
    if (route.startsWith('/containers/c1') && req.method === 'DELETE') return json(204, {});
    if (route.startsWith('/services/job1/logs')) {
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
      return void res.end(this.logs);
    }
    if (route.startsWith('/services?'))
      return json(200, [
        { ID: 'svc1', Spec: { Name: 'dokku_web', Labels: { 'berth.app': 'web', 'berth.spec-hash': 'abc' } } },
        {
          ID: 'job1',
          CreatedAt: '2026-01-01T00:00:00Z',
          Spec: {
            Name: JOB.name,
            Labels: JOB.labels,
            Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
          },
        },
      ]);
    if (route.startsWith('/tasks?'))
      return json(200, [
        {
          ID: 't1',
          ServiceID: 'svc1',
          Spec: { ContainerSpec: { Labels: { 'berth.app': 'web', 'berth.spec-hash': 'abc' } } },
          Status: { State: 'running' },
          DesiredState: 'running',
        },
        {
          ID: 't2',
          ServiceID: 'job1',
          NodeID: 'node2',
          CreatedAt: '2026-01-01T00:00:01Z',
          Spec: { ContainerSpec: { Labels: JOB.labels } },
          Status: {
            State: this.taskState,
            Timestamp: '2026-01-01T00:00:09Z',
            Err: 'task: non-zero exit (3)',
            ContainerStatus: { ContainerID: 'c1', ExitCode: 3 },
          },
          DesiredState: 'shutdown',
        },
      ]);
    return json(404, { message: `no route ${path}` });
  }
}

describe('Swarm runtime: jobs (a stand-in engine)', () => {
  let dir: string;
  let engine: StubEngine;
  const start = async (apiVersion: string) => {
    engine = new StubEngine(apiVersion, join(dir, 'engine.sock'));
    await engine.listen();
    return createSwarmRuntime({ dockerHost: `unix://${engine.socketPath}` });
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-swarm-jobs-'));
  });
  afterEach(async () => {
    await engine?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a replicated job of one task, never restarted, with the spec’s image, arguments, env, mounts and labels', async () => {
    const runtime = await start('1.41');
    assert.equal(await runtime.createJob(JOB), 'job1');
    const sent = engine.requests.find((r) => r.path === '/v1.41/services/create')?.body as SentJob;
    assert.deepEqual(sent.Mode, { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } });
    assert.deepEqual(sent.TaskTemplate.RestartPolicy, { Condition: 'none' });
    assert.equal(sent.Name, JOB.name);
    assert.deepEqual(sent.Labels, JOB.labels);
    assert.deepEqual(sent.TaskTemplate.ContainerSpec.Labels, JOB.labels);
    assert.equal(sent.TaskTemplate.ContainerSpec.Image, JOB.image);
    assert.deepEqual(sent.TaskTemplate.ContainerSpec.Args, ['./migrate', 'up']);
    assert.deepEqual(sent.TaskTemplate.ContainerSpec.Env, [`DB_PASSWORD=${SECRET}`]);
    assert.deepEqual(sent.TaskTemplate.ContainerSpec.Mounts, [
      { Type: 'volume', Source: 'web-data', Target: '/data', ReadOnly: false },
    ]);
    assert.equal(sent.TaskTemplate.Resources.Limits.MemoryBytes, 64 * 1024 * 1024);
    assert.equal(sent.EndpointSpec, undefined, 'a job publishes nothing');
    assert.ok(
      engine.requests.some((r) => r.method === 'GET' && r.path === '/v1.41/services/job1'),
      "the made service's mode is checked",
    );
  });

  it('refuses an engine that speaks an API older than 1.41, before sending anything', async () => {
    const runtime = await start('1.40');
    await assert.rejects(runtime.createJob(JOB), (error: unknown) => {
      assert.ok(error instanceof EngineError);
      assert.equal(
        error.message,
        `createJob ${JOB.name}: Swarm jobs need Engine API 1.41 (Docker 20.10); this engine speaks 1.40`,
      );
      return true;
    });
    assert.equal(
      engine.requests.some((r) => r.path.endsWith('/services/create')),
      false,
    );
  });

  it('removes and refuses a job the engine made in another mode (it would restart for ever)', async () => {
    const runtime = await start('1.41');
    engine.mode = { Replicated: { Replicas: 1 } };
    await assert.rejects(
      runtime.createJob(JOB),
      /the engine made a service of another mode \(Replicated\), not a replicated job; removed/,
    );
    assert.ok(engine.requests.some((r) => r.method === 'DELETE' && r.path === '/v1.41/services/job1'));
  });

  it('lists jobs with their task (state, exit code, error, node) apart from the services and their tasks', async () => {
    const runtime = await start('1.41');
    assert.deepEqual(await runtime.listJobs('dokku', 'web'), [
      {
        id: 'job1',
        name: JOB.name,
        app: 'web',
        role: 'release',
        revision: 'abc@sha256:1',
        createdAt: Date.parse('2026-01-01T00:00:00Z'),
        state: 'failed',
        startedAt: 0,
        exitCode: 3,
        error: 'task: non-zero exit (3)',
        nodeId: 'node2',
      },
    ]);
    const listed = engine.requests.find((r) => r.path.includes('/services?'))?.path ?? '';
    assert.match(decodeURIComponent(listed), /"berth\.role"/, 'listed by the role label');
    assert.deepEqual(
      (await runtime.listServices('dokku', 'web')).map((s) => s.id),
      ['svc1'],
    );
    assert.deepEqual(
      (await runtime.listTasks('dokku', 'web')).map((t) => t.id),
      ['t1'],
    );
  });

  it('removes a job; before Docker 24 (API 1.43) it stops a task still running first (a new iteration asking for none) and removes the containers its tasks left on this node', async () => {
    let runtime = await start('1.41');
    engine.taskState = 'running';
    await runtime.removeJob('job1');
    const calls = engine.requests
      .filter((r) => r.method !== 'GET' || r.path.includes('/tasks'))
      .map((r) => `${r.method} ${decodeURIComponent(r.path.replace(/^\/v[\d.]+/, '')).replace(/\?.*$/, '')}`);
    assert.deepEqual(calls, [
      'GET /tasks',
      'POST /services/job1/update',
      'DELETE /services/job1',
      'DELETE /containers/c1',
    ]);
    const update = engine.requests.find((r) => r.path.includes('/services/job1/update'));
    assert.deepEqual((update?.body as { Mode?: unknown } | undefined)?.Mode, {
      ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 0 },
    });
    assert.match(engine.requests.find((r) => r.path.includes('/tasks'))?.path ?? '', /service/);

    await engine.close();
    runtime = await start('1.43');
    await runtime.removeJob('job1');
    assert.deepEqual(
      engine.requests.filter((r) => r.path !== '/_ping').map((r) => `${r.method} ${r.path}`),
      ['DELETE /v1.43/services/job1'],
      'Docker 24 removes a removed job’s tasks itself',
    );
  });

  it("reads a job's output through the service logs API: both streams, control stripped, secrets redacted, the last 64 KiB", async () => {
    const runtime = await start('1.41');
    engine.logs = Buffer.concat([frame(1, 'applying 0042\n'), frame(2, `\u001b[31mpassword is ${SECRET}\u001b[0m\n`)]);
    assert.equal(await runtime.jobLogs('job1', [SECRET]), 'applying 0042\npassword is <redacted>\n');
    const path = engine.requests.find((r) => r.path.includes('/logs'))?.path ?? '';
    assert.match(path, /^\/v1\.41\/services\/job1\/logs\?(stdout=true&stderr=true|stdout=1&stderr=1)$/);

    engine.logs = Buffer.concat([frame(1, `${'x'.repeat(100 * 1024)}\n`), frame(1, 'the end\n')]);
    const bounded = await runtime.jobLogs('job1', []);
    assert.match(bounded, /^\[output truncated: \d+ bytes dropped\]\n/);
    assert.ok(bounded.length <= 64 * 1024 + 64);
    assert.ok(bounded.endsWith('the end\n'));
  });
});

describe('Swarm runtime: a service spec (a stand-in engine)', () => {
  let dir: string;
  let engine: StubEngine;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-swarm-service-'));
    engine = new StubEngine('1.41', join(dir, 'engine.sock'));
    await engine.listen();
  });
  afterEach(async () => {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('labels the task containers without the service hash, so a replica change replaces no task', async () => {
    const runtime = createSwarmRuntime({ dockerHost: `unix://${engine.socketPath}` });
    const labels = {
      'berth.managed': 'true',
      'berth.namespace': 'dokku',
      'berth.app': 'web',
      'berth.spec-hash': 'abc',
      'berth.service-hash': 'def',
    };
    await runtime.createService({
      name: 'dokku_web',
      labels,
      image: '127.0.0.1:5000/team/web:v2@sha256:1111',
      env: {},
      ports: [],
      volumes: [],
      secrets: [],
      replicas: 2,
      resources: {},
      update: { order: 'start-first', monitorMs: 5_000 },
      stopGracePeriodMs: 10_000,
    });
    const sent = engine.requests.find((r) => r.path.endsWith('/services/create'))?.body as SentJob;
    assert.deepEqual(sent.Labels, labels, 'the service carries both hashes');
    const { 'berth.service-hash': _hash, ...taskLabels } = labels;
    assert.deepEqual(sent.TaskTemplate.ContainerSpec.Labels, taskLabels);
  });
});
