import { strict as assert } from 'node:assert';
import { formatDiff } from '../../../../src/reconcile/core/diff.js';
import { describeNotes, describeSteps } from '../../../../src/reconcile/swarm/describe.js';
import { serviceDiff } from '../../../../src/reconcile/swarm/shapes.js';
import { planService } from '../../../../src/reconcile/swarm/plan.js';
import type { SwarmObservation } from '../../../../src/reconcile/swarm/actions.js';
import { testApp } from '../../../support/apps.js';
import { DIGEST, NOW, observe, registryApp, secret, serviceOf, specOf, task } from './fixtures.js';

/** The steps as `berth plan` prints them. */
const lines = (observation: SwarmObservation) =>
  describeSteps(planService(observation)).map((s) => `${s.symbol} ${s.text}  (${s.reason})`);

describe('a Swarm plan in words (describeSteps, describeNotes)', () => {
  const v1 = registryApp('v1');
  const spec1 = specOf(v1);
  const running = [task(spec1, 1), task(spec1, 2)];

  it('a create is one line naming the pinned image, the replicas and the order (its watch sends nothing)', () => {
    assert.deepEqual(lines(observe(v1)), [
      `+ create service dokku_web (127.0.0.1:5000/team/web:v1@${DIGEST}, 2 replica(s), start-first)  (deploy 127.0.0.1:5000/team/web:v1)`,
    ]);
  });

  it('an update says how it rolls out; a replica change does not roll', () => {
    assert.match(
      lines(observe(registryApp('v2'), { service: serviceOf(spec1), tasks: running })).join('\n'),
      /^~ update service dokku_web to 127\.0\.0\.1:5000\/team\/web:v2@sha256:\w+, rolled out start-first {2}\(roll out 127\.0\.0\.1:5000\/team\/web:v2\)$/,
    );
    assert.deepEqual(
      lines(observe(registryApp('v1', { replicas: 3 }), { service: serviceOf(spec1), tasks: running })),
      [
        `~ update service dokku_web to 127.0.0.1:5000/team/web:v1@${DIGEST}  (the service spec changed (replicas, checks or update settings))`,
      ],
    );
  });

  it('shows the secrets made and swept, the proxy following, the push, and a removal', () => {
    const app = registryApp('v1', {
      envFrom: [{ file: 'web.env.age', at: { file: 'web.yaml', line: 1, col: 1 } }],
      resolved: { env: {}, files: [{ target: '/run/secrets/db', content: Buffer.from('x') }], digest: 'b'.repeat(32) },
    });
    const rotated = lines(
      observe(app, {
        service: serviceOf(spec1),
        tasks: running,
        secrets: [secret('dokku_web_aaaaaaaaaaaa_0')],
        route: { held: true, current: true, endpoints: [] },
      }),
    );
    assert.deepEqual(
      rotated.map((l) => l.split('  (')[0]),
      [
        `+ make Docker secret(s) dokku_web_${'b'.repeat(12)}_0`,
        `~ update service dokku_web to 127.0.0.1:5000/team/web:v1@${DIGEST}, rolled out start-first`,
        '→ route the proxy to the running tasks once the rollout ends',
        "- remove the app's Docker secrets no spec of its service mounts any more",
      ],
    );
    const pushed = {
      ...observe(testApp('web')),
      wanted: undefined,
      publish: { source: 'dokku/web:v1', target: '127.0.0.1:5000/dokku/web:v1' },
    };
    assert.match(lines(pushed).join('\n'), /^↑ push dokku\/web:v1 as 127\.0\.0\.1:5000\/dokku\/web:v1 {2}\(/);
    assert.deepEqual(
      lines(observe(undefined, { service: serviceOf(spec1), secrets: [secret('dokku_web_aaaaaaaaaaaa_0')] })),
      [
        '- remove service svc123456789  (its manifest was removed)',
        '- remove Docker secret dokku_web_aaaaaaaaaaaa_0  (the service is gone)',
      ],
    );
  });

  it('notes a rollout Swarm is running now, and describes a rollback past the deadline', () => {
    const resumed = planService(
      observe(v1, { service: serviceOf(spec1, { state: 'updating', message: '', startedAt: NOW - 1_000 }) }),
    );
    assert.deepEqual(describeSteps(resumed), []);
    assert.deepEqual(describeNotes(resumed), [
      '… Swarm is rolling it out now; a pass watches it to its end',
      '… once Swarm completes it, the new tasks are watched for deploy.monitor (60s): one that ends rolls the service back',
    ]);
    const late = planService(
      observe(v1, { service: serviceOf(spec1, { state: 'updating', message: '', startedAt: NOW - 601_000 }) }),
    );
    assert.deepEqual(
      describeSteps(late).map((s) => `${s.symbol} ${s.text}`),
      ['← ask Swarm to roll service svc123456789 back to its previous spec'],
    );
    assert.deepEqual(describeNotes(late), []);
  });

  it('shows the watch within deploy.monitor, and the hold written onto the service', () => {
    const v2 = registryApp('v2');
    const spec2 = specOf(v2);
    const watching = planService(
      observe(v2, {
        service: serviceOf(
          spec2,
          { state: 'completed', message: '', startedAt: NOW - 9_000, completedAt: Date.UTC(2026, 0, 1, 10, 0, 0) },
          spec1,
        ),
        now: Date.UTC(2026, 0, 1, 10, 0, 5),
      }),
    );
    assert.deepEqual(
      describeSteps(watching).map((s) => `${s.symbol} ${s.text}  (${s.reason})`),
      [
        '? watch the new tasks of dokku_web until 10:01:00 UTC  (Swarm completed the update at 10:00:00 UTC: its new tasks are watched for deploy.monitor (60s))',
      ],
    );
    const held = planService(
      observe(v2, {
        service: serviceOf(spec1, { state: 'rollback_completed', message: 'rollback completed' }),
        held: { revision: `${spec2.labels['berth.spec-hash']}@sha256:${'v2'.padEnd(64, '0')}`, reason: 'x' },
      }),
    );
    assert.deepEqual(
      describeSteps(held).map((s) => `${s.symbol} ${s.text}`),
      [`+ label service svc123456789 with the hold of ${held.hold?.revision}`],
    );
  });

  it('says nothing of an app in sync', () => {
    const plan = planService(observe(v1, { service: serviceOf(spec1), tasks: running }));
    assert.deepEqual([describeSteps(plan), describeNotes(plan)], [[], []]);
  });

  it('diffs the image and replicas of a running service against the wanted ones; no diff for a create or an app in sync', () => {
    const diff = (observation: SwarmObservation) => formatDiff(serviceDiff(observation, planService(observation)));
    assert.deepEqual(diff(observe(registryApp('v2', { replicas: 3 }), { service: serviceOf(spec1), tasks: running })), [
      '  ~ image     127.0.0.1:5000/team/web:v1 -> 127.0.0.1:5000/team/web:v2',
      '  ~ replicas  2 -> 3',
    ]);
    assert.deepEqual(diff(observe(undefined, { service: serviceOf(spec1) })), [
      '  - image     127.0.0.1:5000/team/web:v1',
      '  - replicas  2',
    ]);
    assert.deepEqual(diff(observe(v1)), [], 'the create step names the image and the replicas');
    assert.deepEqual(diff(observe(v1, { service: serviceOf(spec1), tasks: running })), []);
  });
});
