import { strict as assert } from 'node:assert';
import type { SwarmAction, SwarmObservation, SwarmPlan } from '../../../../src/reconcile/swarm/actions.js';
import { holdLabels } from '../../../../src/reconcile/swarm/hold.js';
import { planService } from '../../../../src/reconcile/swarm/plan.js';
import { swarmSecretsFor } from '../../../../src/reconcile/swarm/service-spec.js';
import { testApp } from '../../../support/apps.js';
import { digestOf, NOW, observe, registryApp, revisionOf, secret, serviceOf, specOf, task } from './fixtures.js';

const v1 = registryApp('v1');
const v2 = registryApp('v2');
const spec1 = specOf(v1);
const spec2 = specOf(v2);
const running1 = [task(spec1, 1), task(spec1, 2)];
const resolved = (digest: string) => ({
  env: { DB_PASSWORD: `pw-${digest}` },
  files: [{ target: '/run/secrets/db', content: Buffer.from(`file-${digest}`) }],
  digest: digest.repeat(32),
});
const withSecrets = (tag: string, digest: string) =>
  registryApp(tag, {
    envFrom: [{ file: 'web.env.age', at: { file: 'web.yaml', line: 1, col: 1 } }],
    resolved: resolved(digest),
  });
const secretName = (digest: string) => `dokku_web_${digest.repeat(12)}_0`;
const heldV2 = (reason = 'Swarm rolled back the update: rollback completed') => ({
  revision: revisionOf(v2),
  reason,
  serviceHash: spec2.labels['berth.service-hash'] ?? '',
});
const proxied = { held: true, current: true, endpoints: ['10.0.0.1:30001', '10.0.0.1:30002'] };
/** What the hold labels of v2 say once berth wrote them (Swarm's update status then empty). */
const labelledV2 = () => {
  const service = serviceOf(spec1, { state: 'none', message: '' }, spec1);
  return {
    ...service,
    labels: { ...service.labels, ...definedLabels({ ...heldV2(), image: spec2.image }) },
  };
};
const definedLabels = (hold: Parameters<typeof holdLabels>[0]) =>
  Object.fromEntries(Object.entries(holdLabels(hold)).filter((e): e is [string, string] => e[1] !== undefined));
/** v2 as Swarm completed it `ago` ms before NOW, v1 its previous spec. */
const completedV2 = (ago: number) =>
  serviceOf(
    spec2,
    { state: 'completed', message: 'update completed', startedAt: NOW - ago - 8_000, completedAt: NOW - ago },
    spec1,
  );
const running2 = [task(spec2, 1), task(spec2, 2)];

interface Case {
  name: string;
  observation: SwarmObservation;
  /** The action types, in order. */
  actions: SwarmAction['type'][];
  /** The outcome's phase and (a pattern of) its message. */
  outcome: [SwarmPlan['outcome']['phase'], RegExp | string];
  /** Whether the plan rolls a revision out. */
  rollout?: boolean;
  check?: (plan: SwarmPlan) => void;
}

const cases: Case[] = [
  {
    name: 'creates a missing service, watches it until its replicas run, as a rollout',
    observation: observe(v1),
    actions: ['create', 'watch'],
    outcome: ['Running', '2 × 127.0.0.1:5000/team/web:v1 running'],
    rollout: true,
    check: (plan) => {
      const watch = plan.actions[1];
      assert.equal(watch?.type === 'watch' && watch.until, 'running');
      assert.equal(watch?.type === 'watch' && watch.deadlineMs, 600_000);
      assert.equal(plan.rollout?.revision, revisionOf(v1));
      assert.equal(plan.rollout?.imageId, digestOf('v1'));
    },
  },
  {
    name: "sends nothing for a service whose spec is what berth would send (an update would reset Swarm's status)",
    observation: observe(v1, { service: serviceOf(spec1), tasks: running1 }),
    actions: [],
    outcome: ['Running', '2 × 127.0.0.1:5000/team/web:v1 running'],
  },
  {
    name: "rolls a new tag out as an update at the service's version, watched until Swarm completes it",
    observation: observe(v2, { service: serviceOf(spec1), tasks: running1 }),
    actions: ['update', 'watch'],
    outcome: ['Running', '2 × 127.0.0.1:5000/team/web:v2 running'],
    rollout: true,
    check: (plan) => {
      const [update, watch] = plan.actions;
      assert.deepEqual(update?.type === 'update' && [update.version, update.rolling], [7, true]);
      assert.equal(watch?.type === 'watch' && watch.until, 'updated');
      assert.equal(watch?.type === 'watch' && watch.since, undefined, 'the deadline runs from the send');
      assert.deepEqual(
        [plan.monitorAfterMs, plan.requeueAfterMs],
        [60_000, 0],
        'the next pass, at once, watches the new tasks for deploy.monitor',
      );
    },
  },
  {
    name: 'within deploy.monitor after Swarm completed the update, watches the new tasks, rolling back to the previous spec on a failure',
    observation: observe(v2, { service: completedV2(5_000), tasks: running2, route: proxied }),
    actions: ['monitor'],
    outcome: ['Running', '2 × 127.0.0.1:5000/team/web:v2 running'],
    rollout: false,
    check: (plan) => {
      const [monitor] = plan.actions;
      assert.ok(monitor?.type === 'monitor');
      assert.deepEqual(
        [monitor.since, monitor.rolloutSince, monitor.windowMs, monitor.from, monitor.to, monitor.follow],
        [NOW - 5_000, NOW - 13_000, 60_000, revisionOf(v2), revisionOf(v1), true],
      );
      assert.match(monitor.reason, /^Swarm completed the update at \d\d:\d\d:\d\d UTC: .* deploy\.monitor \(60s\)$/);
      assert.equal(monitor.lookUntil, NOW + 10_000, 'this pass looks for a slice of the window');
      assert.equal(plan.requeueAfterMs, 0, 'and the next one, at once, looks on');
    },
  },
  {
    name: 'watches nothing once deploy.monitor has passed since Swarm completed the update',
    observation: observe(v2, { service: completedV2(60_000), tasks: running2 }),
    actions: [],
    outcome: ['Running', /web:v2 running/],
  },
  {
    name: 'watches nothing when deploy.monitor is 0',
    observation: observe(registryApp('v2', { deploy: { monitor: 0 } }), {
      service: serviceOf(
        specOf(registryApp('v2', { deploy: { monitor: 0 } })),
        { state: 'completed', message: '', startedAt: NOW - 2_000, completedAt: NOW - 1_000 },
        spec1,
      ),
      tasks: running2,
    }),
    actions: [],
    outcome: ['Running', /web:v2 running/],
  },
  {
    name: 'watches nothing with no previous spec to go back to (a created service, or a rollback Swarm decided)',
    observation: observe(v2, {
      service: serviceOf(spec2, { state: 'completed', message: '', startedAt: NOW - 2_000, completedAt: NOW - 1_000 }),
      tasks: running2,
    }),
    actions: [],
    outcome: ['Running', /web:v2 running/],
    check: (plan) => assert.equal(plan.runs?.revision, revisionOf(v2), 'the service runs the manifest revision'),
  },
  {
    name: 'watches the new tasks while one is being replaced (Degraded), so the failure is judged',
    observation: observe(v2, {
      service: completedV2(5_000),
      tasks: [task(spec2, 1), { ...task(spec2, 2, 'failed'), createdAt: NOW - 12_000 }],
    }),
    actions: ['monitor'],
    outcome: ['Degraded', /^1 of 2 replicas/],
  },
  {
    name: 'sends a replica change as a plain update, watched until the replicas run: no rollout',
    observation: observe(registryApp('v1', { replicas: 3 }), { service: serviceOf(spec1), tasks: running1 }),
    actions: ['update', 'watch'],
    outcome: ['Running', /^3 × /],
    rollout: false,
    check: (plan) => {
      const [update, watch] = plan.actions;
      assert.equal(update?.type === 'update' && update.rolling, false);
      assert.equal(watch?.type === 'watch' && watch.until, 'running');
    },
  },
  {
    name: 'reports fewer running tasks than replicas as Degraded without acting (Swarm reschedules)',
    observation: observe(v1, { service: serviceOf(spec1), tasks: [task(spec1, 1), task(spec1, 2, 'failed')] }),
    actions: [],
    outcome: ['Degraded', /^1 of 2 replicas of .*web:v1 running \(Swarm is rescheduling\)$/],
  },
  {
    name: 'watches a rollout Swarm is running already (berth restarted mid-rollout) instead of sending it again',
    observation: observe(v2, {
      service: serviceOf(spec2, { state: 'updating', message: 'update in progress', startedAt: NOW - 5_000 }),
      tasks: running1,
    }),
    actions: ['watch'],
    outcome: ['Running', /web:v2 running/],
    rollout: true,
    check: (plan) => {
      const [watch] = plan.actions;
      assert.deepEqual(watch?.type === 'watch' && [watch.until, watch.since], ['updated', NOW - 5_000]);
    },
  },
  {
    name: 'asks Swarm to roll back a rollout that ran past deploy.progressDeadline while berth was away',
    observation: observe(registryApp('v2', { deploy: { progressDeadline: 60 } }), {
      service: serviceOf(specOf(registryApp('v2', { deploy: { progressDeadline: 60 } })), {
        state: 'updating',
        message: 'update in progress',
        startedAt: NOW - 61_000,
      }),
      tasks: running1,
    }),
    actions: ['rollback'],
    outcome: ['Degraded', /^deploy failed: the update did not complete within deploy\.progressDeadline/],
    rollout: true,
    check: (plan) => {
      const [rollback] = plan.actions;
      assert.deepEqual(rollback?.type === 'rollback' && [rollback.id, rollback.version], ['svc1234567890abcdef', 7]);
      assert.match(rollback?.type === 'rollback' ? rollback.failure : '', /berth asked Swarm to roll it back$/);
    },
  },
  {
    name: 'holds a revision Swarm rolled back: it is not sent again, the previous revision keeps serving',
    observation: observe(v2, {
      service: serviceOf(spec1, { state: 'rollback_completed', message: 'rollback completed' }, spec2),
      tasks: running1,
      held: heldV2(),
    }),
    actions: ['recordHold'],
    outcome: [
      'Degraded',
      '127.0.0.1:5000/team/web:v2 is held after it failed (Swarm rolled back the update: rollback completed); the previous revision keeps serving until the manifest changes or `berth retry web`',
    ],
    rollout: false,
    check: (plan) => {
      assert.deepEqual(plan.hold, { ...heldV2(), image: spec2.image });
      const [record] = plan.actions;
      assert.deepEqual(record?.type === 'recordHold' && [record.id, record.version, record.labels], [
        'svc1234567890abcdef',
        7,
        {
          'berth.held-revision': revisionOf(v2),
          'berth.held-reason': heldV2().reason,
          'berth.held-service-hash': spec2.labels['berth.service-hash'],
          'berth.held-image': spec2.image,
        },
      ]);
    },
  },
  {
    name: 'writes the hold no more once the service shows it (its labels, Swarm status empty)',
    observation: observe(v2, { service: labelledV2(), tasks: running1, held: heldV2() }),
    actions: [],
    outcome: ['Degraded', /web:v2 is held after it failed/],
  },
  {
    name: "a berth with no record of the app holds what the swarm holds (the service's labels), sending nothing",
    observation: observe(v2, {
      service: labelledV2(),
      tasks: running1,
      swarmHeld: { ...heldV2('rolled back on another manager'), image: spec2.image },
    }),
    actions: [],
    outcome: ['Degraded', /web:v2 is held after it failed \(rolled back on another manager\)/],
    check: (plan) => assert.equal(plan.hold?.revision, revisionOf(v2)),
  },
  {
    name: 'a hold read from the task history (no service hash) holds the revision when berth has no record of it, and writes it onto the service',
    observation: observe(v2, {
      service: serviceOf(spec1, { state: 'rollback_completed', message: 'update rolled back' }),
      tasks: running1,
      swarmHeld: { revision: revisionOf(v2), reason: 'Swarm rolled it back (update rolled back)', image: spec2.image },
    }),
    actions: ['recordHold'],
    outcome: ['Degraded', /web:v2 is held after it failed/],
  },
  {
    name: "a hold read from the task history takes the service hash of berth's record of it: the same revision with other checks is sent",
    observation: observe(
      registryApp('v2', {
        checks: { wait: 0, http: [{ path: '/health', content: 'ok', port: 8080, attempts: 9, wait: 1, timeout: 1 }] },
      }),
      {
        service: serviceOf(spec1, { state: 'rollback_completed', message: 'update rolled back' }),
        tasks: running1,
        held: heldV2(),
        swarmHeld: {
          revision: revisionOf(v2),
          reason: 'Swarm rolled it back (update rolled back)',
          image: spec2.image,
        },
      },
    ),
    actions: ['update', 'watch'],
    outcome: ['Running', /web:v2 running/],
    rollout: true,
  },
  {
    name: 'the swarm holding another revision does not stop a new tag',
    observation: observe(registryApp('v3'), {
      service: labelledV2(),
      tasks: running1,
      swarmHeld: { ...heldV2(), image: spec2.image },
    }),
    actions: ['update', 'watch'],
    outcome: ['Running', /web:v3 running/],
    rollout: true,
  },
  {
    name: 'holds the revision while Swarm still names it, rolling it back: it is neither sent nor judged as running',
    observation: observe(v2, {
      service: serviceOf(spec2, { state: 'rollback_started', message: 'update rolled back' }, spec1),
      tasks: running1,
      held: heldV2(),
    }),
    actions: [],
    outcome: ['Degraded', /web:v2 is held after it failed/],
    check: (plan) =>
      assert.equal(plan.requeueAfterMs, 2_000, 'looked at again soon, to write the hold once Swarm is done'),
  },
  {
    name: 'holds a held revision with no service at all as Failed: nothing serves',
    observation: observe(v2, { held: heldV2('3 of 2 task(s)') }),
    actions: [],
    outcome: ['Failed', /is held after it failed \(3 of 2 task\(s\)\); nothing serves until the manifest changes/],
  },
  {
    name: 'sends a new tag while another is held',
    observation: observe(registryApp('v3'), { service: serviceOf(spec1), tasks: running1, held: heldV2() }),
    actions: ['update', 'watch'],
    outcome: ['Running', /web:v3 running/],
    rollout: true,
  },
  {
    name: 'tries the held revision again when the manifest changes what berth sends of it (other checks)',
    observation: observe(
      registryApp('v2', {
        checks: { wait: 0, http: [{ path: '/health', content: 'ok', port: 8080, attempts: 30, wait: 1, timeout: 1 }] },
      }),
      { service: serviceOf(spec1), tasks: running1, held: heldV2() },
    ),
    actions: ['update', 'watch'],
    outcome: ['Running', /web:v2 running/],
    rollout: true,
  },
  {
    name: 'removes the service of a deleted manifest at once, held revision or not, and its route and secrets',
    observation: observe(undefined, {
      service: serviceOf(spec1),
      tasks: running1,
      held: heldV2(),
      route: { held: true, current: true, endpoints: [] },
      secrets: [secret('dokku_web_aaaaaaaaaaaa_0')],
    }),
    actions: ['unroute', 'remove', 'removeSecret'],
    outcome: ['Running', 'removed'],
    check: (plan) => assert.equal(plan.gone, true),
  },
  {
    name: 'keeps the service while removal is held (the manifest directory cannot be read)',
    observation: observe(undefined, {
      service: serviceOf(spec1),
      desired: { kind: 'absent', hold: 'the manifest directory is empty' },
    }),
    actions: [],
    outcome: ['Running', 'manifest gone, removal held: the manifest directory is empty'],
    check: (plan) => assert.notEqual(plan.gone, true),
  },
  {
    name: 'removes the Docker secrets of an app whose service went while berth was away',
    observation: observe(undefined, {
      secrets: [secret('dokku_web_aaaaaaaaaaaa_0'), secret('dokku_web_bbbbbbbbbbbb_0')],
    }),
    actions: ['removeSecret', 'removeSecret'],
    outcome: ['Running', 'removed'],
    check: (plan) => assert.equal(plan.gone, true),
  },
  {
    name: 'makes the Docker secrets a new service mounts before it is created',
    observation: observe(withSecrets('v1', 'a')),
    actions: ['makeSecrets', 'create', 'watch'],
    outcome: ['Running', /web:v1 running/],
    rollout: true,
    check: (plan) => {
      const [make] = plan.actions;
      assert.deepEqual(make?.type === 'makeSecrets' && make.secrets.map((s) => s.name), [secretName('a')]);
      assert.equal(make?.type === 'makeSecrets' && make.secrets[0]?.data.toString(), 'file-a');
    },
  },
  {
    name: 'rotates a secret as a rolling update, and sweeps the secrets no spec mounts once it is sent',
    observation: observe(withSecrets('v1', 'c'), {
      service: serviceOf(specOf(withSecrets('v1', 'b')), undefined, specOf(withSecrets('v1', 'a'))),
      tasks: running1,
      secrets: [secret(secretName('a')), secret(secretName('b'))],
    }),
    actions: ['makeSecrets', 'update', 'watch', 'sweepSecrets'],
    outcome: ['Running', /web:v1 running/],
    rollout: true,
  },
  {
    name: 'removes a Docker secret neither the spec nor the previous spec mounts, the service in sync',
    observation: observe(withSecrets('v1', 'b'), {
      service: serviceOf(specOf(withSecrets('v1', 'b')), undefined, specOf(withSecrets('v1', 'a'))),
      tasks: [task(specOf(withSecrets('v1', 'b')), 1), task(specOf(withSecrets('v1', 'b')), 2)],
      secrets: [secret(secretName('z')), secret(secretName('a')), secret(secretName('b'))],
    }),
    actions: ['removeSecret'],
    outcome: ['Running', /web:v1 running/],
    check: (plan) => {
      const [removal] = plan.actions;
      assert.equal(removal?.type === 'removeSecret' && removal.name, secretName('z'));
    },
  },
  {
    name: 'behind the proxy, the watch follows the new tasks and the proxy routes to what runs once the rollout ends',
    observation: observe(v2, { service: serviceOf(spec1), tasks: running1, route: proxied }),
    actions: ['update', 'watch', 'follow'],
    outcome: ['Running', /web:v2 running/],
    rollout: true,
    check: (plan) => assert.equal(plan.actions[1]?.type === 'watch' && plan.actions[1].follow, true),
  },
  {
    name: 'routes the proxy to the running tasks when it does not hold them',
    observation: observe(v1, {
      service: serviceOf(spec1),
      tasks: running1,
      route: { held: true, current: false, endpoints: ['10.0.0.1:30001'] },
    }),
    actions: ['route'],
    outcome: ['Running', /web:v1 running/],
    check: (plan) =>
      assert.deepEqual(plan.actions[0]?.type === 'route' && plan.actions[0].endpoints, ['10.0.0.1:30001']),
  },
  {
    name: 'keeps the proxy on the running tasks while a revision is held',
    observation: observe(v2, {
      service: labelledV2(),
      tasks: running1,
      held: heldV2(),
      route: { held: false, current: false, endpoints: ['10.0.0.1:30001', '10.0.0.1:30002'] },
    }),
    actions: ['route'],
    outcome: ['Degraded', /is held after it failed/],
  },
  {
    name: 'waits (Pending) for an image that is nowhere yet',
    observation: { ...observe(testApp('web')), wanted: undefined, imageMissing: true },
    actions: [],
    outcome: ['Pending', /^waiting for image dokku\/web:v1 \(docker load/],
  },
  {
    name: 'pushes an image only this host has to the swarm registry before anything else',
    observation: {
      ...observe(testApp('web')),
      wanted: undefined,
      publish: { source: 'dokku/web:v1', target: '127.0.0.1:5000/dokku/web:v1' },
    },
    actions: ['push'],
    outcome: ['Deploying', 'pushing 127.0.0.1:5000/dokku/web:v1'],
    rollout: false,
  },
  {
    name: 'refuses what Swarm cannot honour, saying why, and sends nothing',
    observation: { ...observe(v1, { service: serviceOf(spec1), tasks: running1 }), wanted: { refused: 'no way' } },
    actions: [],
    outcome: ['Degraded', 'no way'],
    check: (plan) => assert.equal(plan.refused, 'no way'),
  },
];

describe('the Swarm planner (planService)', () => {
  for (const c of cases)
    it(c.name, () => {
      const plan = planService(c.observation);
      assert.deepEqual(
        plan.actions.map((a) => a.type),
        c.actions,
      );
      assert.equal(plan.outcome.phase, c.outcome[0], plan.outcome.message);
      if (typeof c.outcome[1] === 'string') assert.equal(plan.outcome.message, c.outcome[1]);
      else assert.match(plan.outcome.message, c.outcome[1]);
      if (c.rollout !== undefined) assert.equal(plan.rollout !== undefined, c.rollout, 'rollout');
      for (const action of plan.actions) assert.ok(action.reason.length > 0, `${action.type} has a reason`);
      c.check?.(plan);
    });

  it('names the secrets it makes as serviceSpecFor mounts them', () => {
    const app = withSecrets('v1', 'a');
    const plan = planService(observe(app));
    const make = plan.actions.find((a) => a.type === 'makeSecrets');
    assert.deepEqual(
      make?.type === 'makeSecrets' && make.secrets.map((s) => s.name),
      swarmSecretsFor('dokku', app).map((s) => s.name),
    );
  });
});
