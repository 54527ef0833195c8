import { strict as assert } from 'node:assert';
import type { Desired } from '../../../../src/reconcile/docker/actions.js';
import { planService, type SwarmObservation } from '../../../../src/reconcile/swarm/plan.js';
import { serviceSpecFor, swarmSecretsFor } from '../../../../src/reconcile/swarm/service-spec.js';
import type { ServiceSpec, ServiceSummary, TaskSummary } from '../../../../src/runtime/services.js';
import type { App } from '../../../../src/manifest/types.js';
import { testApp } from '../../../support/apps.js';

const DIGEST = `sha256:${'d'.repeat(64)}`;
const registryApp = (tag: string, overrides = {}) =>
  testApp('web', {
    image: '127.0.0.1:5000/team/web',
    tag,
    replicas: 2,
    checks: { wait: 0, http: [{ path: '/health', content: 'ok', port: 8080, attempts: 3, wait: 1, timeout: 2 }] },
    ...overrides,
  });
const pinned = (app: App) => ({ ref: `${app.spec.image}:${app.spec.tag}@${DIGEST}`, pinned: true });
const specOf = (app: App): ServiceSpec => {
  const result = serviceSpecFor('dokku', app, pinned(app), 1, 10);
  if (!('spec' in result)) throw new Error(result.refused);
  return result.spec;
};
const serviceOf = (
  spec: ServiceSpec,
  update: ServiceSummary['update'] = { state: 'completed', message: '' },
): ServiceSummary => ({
  id: 'svc1',
  name: spec.name,
  app: 'web',
  version: 7,
  specHash: spec.labels['berth.spec-hash'] ?? '',
  serviceHash: spec.labels['berth.service-hash'] ?? '',
  image: spec.image,
  replicas: spec.replicas,
  update,
  secretNames: spec.secrets.map((x) => x.name),
});
const task = (spec: ServiceSpec, slot: number, state: TaskSummary['state'] = 'running'): TaskSummary => ({
  id: `t${slot}`,
  serviceId: 'svc1',
  app: 'web',
  slot,
  nodeId: 'n1',
  state,
  desiredState: 'running',
  specHash: spec.labels['berth.spec-hash'] ?? '',
  message: '',
  error: '',
  ports: [],
  createdAt: slot,
});
const present = (app: App): Desired => ({ kind: 'present', app });
function observe(
  app: App | undefined,
  service?: ServiceSummary,
  tasks: TaskSummary[] = [],
  desired?: Desired,
): SwarmObservation {
  return {
    name: 'web',
    desired: desired ?? (app ? present(app) : { kind: 'absent' }),
    tasks,
    ...(service ? { service } : {}),
    ...(app ? { wanted: serviceSpecFor('dokku', app, pinned(app), 1, 10) } : {}),
  };
}

describe('a manifest as a Swarm service (serviceSpecFor)', () => {
  it('names and labels the service, pins the image, and turns http checks into a healthcheck', () => {
    const spec = specOf(registryApp('v1'));
    assert.equal(spec.name, 'dokku_web');
    assert.equal(spec.image, `127.0.0.1:5000/team/web:v1@${DIGEST}`);
    assert.deepEqual(
      [spec.labels['berth.managed'], spec.labels['berth.namespace'], spec.labels['berth.app']],
      ['true', 'dokku', 'web'],
    );
    assert.deepEqual(spec.healthcheck?.test, [
      'CMD-SHELL',
      "wget -q -O- 'http://127.0.0.1:8080/health' | grep -qF -e 'ok'",
    ]);
    assert.equal(spec.healthcheck?.retries, 3);
    assert.equal(spec.update.order, 'start-first');
  });

  it('runs a lone exec check as it is, so an image needs no shell; several probes as one shell command, quoted', () => {
    const probe = { command: ['/app/healthcheck', '--ready'], attempts: 4, wait: 2, timeout: 3 };
    const lone = specOf(registryApp('v1', { checks: { wait: 0, http: [], exec: [probe] } }));
    assert.deepEqual(lone.healthcheck?.test, ['CMD', '/app/healthcheck', '--ready']);
    assert.deepEqual(
      [lone.healthcheck?.retries, lone.healthcheck?.intervalMs, lone.healthcheck?.timeoutMs],
      [4, 2000, 3000],
    );

    const http = [{ path: "/it's", content: '-ok', port: 8080, attempts: 3, wait: 1, timeout: 2 }];
    const both = specOf(
      registryApp('v1', { checks: { wait: 0, http, exec: [{ ...probe, command: ['/bin/check', "a b'c"] }] } }),
    );
    assert.deepEqual(both.healthcheck?.test, [
      'CMD-SHELL',
      `wget -q -O- 'http://127.0.0.1:8080/it'\\''s' | grep -qF -e '-ok' && '/bin/check' 'a b'\\''c'`,
    ]);
    assert.deepEqual(
      [both.healthcheck?.retries, both.healthcheck?.intervalMs, both.healthcheck?.timeoutMs],
      [4, 1000, 3000],
    );
  });

  it('mounts decrypted files as Docker secrets named by their digest, adds env files to the env, and keeps every value out of the labels', () => {
    const resolved = (password: string) => ({
      env: { DB_PASSWORD: password },
      files: [{ target: '/run/secrets/db', content: Buffer.from(`file-${password}`) }],
      digest: password === 'first-Zq8' ? 'a'.repeat(32) : 'b'.repeat(32),
    });
    const app = (password: string) =>
      registryApp('v1', {
        env: { MODE: 'prod' },
        envFrom: [{ file: 'web.env.age', at: { file: 'web.yaml', line: 1, col: 1 } }],
        resolved: resolved(password),
      });
    const first = specOf(app('first-Zq8'));
    assert.deepEqual(first.env, { MODE: 'prod', DB_PASSWORD: 'first-Zq8' });
    assert.deepEqual(first.secrets, [{ name: `dokku_web_${'a'.repeat(12)}_0`, target: '/run/secrets/db' }]);
    const [secret] = swarmSecretsFor('dokku', app('first-Zq8'));
    assert.equal(secret?.data.toString(), 'file-first-Zq8');
    assert.deepEqual([secret?.labels['berth.namespace'], secret?.labels['berth.app']], ['dokku', 'web']);
    assert.ok(!JSON.stringify(first.labels).includes('first-Zq8'), 'no value in a label');

    // A rotation is a new secret name and a rolling update.
    const rotated = specOf(app('second-Zq8'));
    assert.equal(rotated.secrets[0]?.name, `dokku_web_${'b'.repeat(12)}_0`);
    const plan = planService(observe(app('second-Zq8'), serviceOf(first), [task(first, 1), task(first, 2)]));
    assert.deepEqual(
      plan.actions.map((a) => a.type === 'update' && a.rolling),
      [true],
    );

    // A long app name still gives a secret name Docker takes (64 characters at most), digest kept.
    const long = 'x'.repeat(63);
    const [named] = swarmSecretsFor('some-namespace', { ...app('first-Zq8'), name: long });
    assert.ok(named!.name.length <= 64 && named!.name.endsWith(`_${'a'.repeat(12)}_0`), named!.name);
  });

  it("sets no healthcheck without checks, so the image's own HEALTHCHECK decides", () => {
    assert.equal(specOf(registryApp('v1', { checks: { wait: 3, http: [], exec: [] } })).healthcheck, undefined);
  });

  it('rolls a fixed host port out stop-first, and refuses an explicit zero-downtime with one, saying why', () => {
    const fixed = [{ container: 8080, host: 18080, hostIp: '127.0.0.1', protocol: 'tcp' as const }];
    assert.equal(specOf(registryApp('v1', { ports: fixed, replicas: 1 })).update.order, 'stop-first');
    const refused = serviceSpecFor(
      'dokku',
      registryApp('v1', { ports: fixed, replicas: 1, deploy: { strategy: 'zero-downtime', strategyExplicit: true } }),
      pinned(registryApp('v1')),
      1,
      10,
    );
    assert.match('refused' in refused ? refused.refused : '', /zero-downtime is impossible: .*fixed host port 18080/);
  });

  it('checks spec.digest against the digest the registry serves', () => {
    assert.ok(
      'spec' in serviceSpecFor('dokku', registryApp('v1', { digest: DIGEST }), pinned(registryApp('v1')), 1, 10),
    );
    const other = `sha256:${'e'.repeat(64)}`;
    assert.match(
      JSON.stringify(serviceSpecFor('dokku', registryApp('v1', { digest: other }), pinned(registryApp('v1')), 1, 10)),
      /digest mismatch: the manifest pins sha256:e+ but the registry serves .* as sha256:d+/,
    );
  });

  it('refuses an image only this host has on a swarm of several nodes, and keeps it on a single node', () => {
    const local = { ref: 'dokku/web:v1', pinned: false };
    assert.match(
      JSON.stringify(serviceSpecFor('dokku', testApp('web'), local, 3, 10)),
      /on this host only .* 3 nodes: push it to a registry/,
    );
    assert.ok('spec' in serviceSpecFor('dokku', testApp('web'), local, 1, 10));
  });
});

describe('the Swarm planner (planService)', () => {
  const v1 = registryApp('v1');
  const v2 = registryApp('v2');

  it('creates a missing service as a rollout', () => {
    const plan = planService(observe(v1));
    assert.deepEqual(
      plan.actions.map((a) => a.type),
      ['create'],
    );
    assert.equal(plan.rollout?.imageId, DIGEST);
  });

  it("sends nothing for a service whose spec is what berth would send (an update would reset Swarm's status)", () => {
    const spec = specOf(v1);
    const plan = planService(observe(v1, serviceOf(spec), [task(spec, 1), task(spec, 2)]));
    assert.deepEqual(plan.actions, []);
    assert.deepEqual(plan.outcome, { phase: 'Running', message: '2 × 127.0.0.1:5000/team/web:v1 running' });
  });

  it("rolls out a new tag as an update at the service's version, and a replica change as a plain update", () => {
    const spec = specOf(v1);
    const rolling = planService(observe(v2, serviceOf(spec)));
    assert.equal(rolling.actions[0]?.type === 'update' && rolling.actions[0].rolling, true);
    assert.equal(rolling.actions[0]?.type === 'update' && rolling.actions[0].version, 7);
    assert.ok(rolling.rollout);
    const scaled = planService(observe(registryApp('v1', { replicas: 3 }), serviceOf(spec)));
    assert.equal(scaled.actions[0]?.type === 'update' && scaled.actions[0].rolling, false);
    assert.equal(scaled.rollout, undefined, 'scaling is no new revision');
  });

  it('reports fewer running tasks than replicas as Degraded without acting (Swarm reschedules)', () => {
    const spec = specOf(v1);
    const plan = planService(observe(v1, serviceOf(spec), [task(spec, 1), task(spec, 2, 'failed')]));
    assert.deepEqual(plan.actions, []);
    assert.equal(plan.outcome.phase, 'Degraded');
    assert.match(plan.outcome.message, /^1 of 2 replicas/);
  });

  it('watches a rollout Swarm is running already (berth restarted mid-rollout) instead of sending it again', () => {
    const spec = specOf(v2);
    const plan = planService(observe(v2, serviceOf(spec, { state: 'updating', message: 'update in progress' })));
    assert.deepEqual(plan.actions, []);
    assert.equal(plan.resume, true);
  });

  it('removes the service of a removed app, unless removal is held', () => {
    const service = serviceOf(specOf(v1));
    assert.deepEqual(
      planService(observe(undefined, service)).actions.map((a) => a.type),
      ['remove'],
    );
    const held = planService(
      observe(undefined, service, [], { kind: 'absent', hold: 'the manifest directory is empty' }),
    );
    assert.deepEqual(held.actions, []);
    assert.notEqual(held.gone, true);
  });
});

describe('the Swarm planner and images only this host has', () => {
  const local = testApp('web', { tag: 'v1', replicas: 1 });
  it('waits (Pending) for an image that is nowhere yet', () => {
    const plan = planService({ name: 'web', desired: { kind: 'present', app: local }, tasks: [], imageMissing: true });
    assert.deepEqual(plan.actions, []);
    assert.equal(plan.outcome.phase, 'Pending');
    assert.match(plan.outcome.message, /^waiting for image dokku\/web:v1/);
  });

  it('pushes an image only this host has to the swarm registry before anything else', () => {
    const plan = planService({
      name: 'web',
      desired: { kind: 'present', app: local },
      tasks: [],
      publish: { source: 'dokku/web:v1', target: '127.0.0.1:5000/dokku/web:v1' },
    });
    assert.deepEqual(
      plan.actions.map((a) => a.type),
      ['push'],
    );
    assert.equal(plan.outcome.phase, 'Deploying');
  });
});

describe('a Swarm app behind the proxy', () => {
  const app = registryApp('v1');
  const spec = specOf(app);
  const withPort = (slot: number, state: TaskSummary['state'], node: string, published: number): TaskSummary => ({
    ...task(spec, slot, state),
    nodeId: node,
    ports: [{ target: 8080, published, protocol: 'tcp' }],
  });
  const nodes = [
    { id: 'n1', addr: '10.203.0.1' },
    { id: 'n2', addr: '10.203.0.2' },
  ];

  it('routes to each running task at its node address and published port; during a rollout to starting tasks too', async () => {
    const { taskEndpoints } = await import('../../../../src/reconcile/swarm/endpoints.js');
    const tasks = [
      withPort(1, 'running', 'n1', 30001),
      withPort(2, 'running', 'n2', 30002),
      withPort(3, 'starting', 'n1', 30003),
      { ...withPort(4, 'running', 'n2', 30004), desiredState: 'shutdown' },
    ];
    assert.deepEqual(taskEndpoints(app, tasks, nodes, { starting: false }), ['10.203.0.1:30001', '10.203.0.2:30002']);
    assert.deepEqual(taskEndpoints(app, tasks, nodes, { starting: true }), [
      '10.203.0.1:30001',
      '10.203.0.1:30003',
      '10.203.0.2:30002',
    ]);
  });

  it('plans a route when the proxy does not hold the running tasks, and an unroute with the service of a removed app', () => {
    const service = serviceOf(spec);
    const tasks = [task(spec, 1), task(spec, 2)];
    const stale = planService({
      ...observe(app, service, tasks),
      route: { held: true, current: false, endpoints: ['10.203.0.1:30001'] },
    });
    assert.deepEqual(
      stale.actions.map((a) => a.type),
      ['route'],
    );
    assert.deepEqual(
      planService({ ...observe(app, service, tasks), route: { held: true, current: true, endpoints: [] } }).actions,
      [],
    );
    const removed = planService({
      ...observe(undefined, service),
      route: { held: true, current: true, endpoints: [] },
    });
    assert.deepEqual(
      removed.actions.map((a) => a.type),
      ['unroute', 'remove'],
    );
  });
});
