import { strict as assert } from 'node:assert';
import { planService } from '../../../../src/reconcile/swarm/plan.js';
import { taskEndpoints } from '../../../../src/reconcile/swarm/endpoints.js';
import { serviceSpecFor, swarmSecretsFor } from '../../../../src/reconcile/swarm/service-spec.js';
import type { TaskSummary } from '../../../../src/runtime/services.js';
import { testApp } from '../../../support/apps.js';
import { DIGEST, observe, pinned, registryApp, serviceOf, specOf, task } from './fixtures.js';

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
    const plan = planService(
      observe(app('second-Zq8'), { service: serviceOf(first), tasks: [task(first, 1), task(first, 2)] }),
    );
    assert.deepEqual(
      plan.actions.filter((a) => a.type === 'update').map((a) => a.type === 'update' && a.rolling),
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

describe('Swarm tasks behind the proxy (taskEndpoints)', () => {
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

  it('routes to each running task at its node address and published port; during a rollout to starting tasks too', () => {
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
});

describe('a standby’s plan (leader election: observation.role standby)', () => {
  const running = (app: ReturnType<typeof registryApp>) => [task(specOf(app), 1)];
  it('sends nothing to the swarm for a new revision: the leader does; its proxy follows the running tasks, and it looks again soon', () => {
    const v1 = registryApp('v1');
    const v2 = registryApp('v2');
    const endpoints = ['10.0.0.1:30001'];
    const leader = planService(
      observe(v2, {
        service: serviceOf(specOf(v1)),
        tasks: running(v1),
        route: { held: false, current: false, endpoints },
      }),
    );
    assert.ok(leader.actions.some((a) => a.type === 'update'));
    const standby = planService({
      ...observe(v2, {
        service: serviceOf(specOf(v1)),
        tasks: running(v1),
        route: { held: false, current: false, endpoints },
      }),
      role: 'standby',
    });
    assert.deepEqual(
      standby.actions.map((a) => a.type),
      ['route'],
    );
    assert.match(standby.outcome.message, /^standby: the leader acts on the swarm/);
    assert.equal(standby.rollout, undefined);
    assert.equal(standby.requeueAfterMs, 1_000);
  });

  it('in sync, a standby plans nothing and is not looked at again before the resync', () => {
    const v1 = registryApp('v1');
    const plan = planService({
      ...observe(v1, {
        service: serviceOf(specOf(v1)),
        tasks: running(v1),
        route: { held: true, current: true, endpoints: ['10.0.0.1:30001'] },
      }),
      role: 'standby',
    });
    assert.deepEqual(plan.actions, []);
    assert.equal(plan.requeueAfterMs, undefined);
  });

  it('never removes a service whose manifest is gone: it unroutes once the leader removed it', () => {
    const v1 = registryApp('v1');
    const withService = planService({
      ...observe(undefined, { service: serviceOf(specOf(v1)), route: { held: true, current: true, endpoints: [] } }),
      role: 'standby',
    });
    assert.deepEqual(withService.actions, []);
    const gone = planService({
      ...observe(undefined, { route: { held: true, current: true, endpoints: [] } }),
      role: 'standby',
    });
    assert.deepEqual(
      gone.actions.map((a) => a.type),
      ['unroute'],
    );
  });
});
