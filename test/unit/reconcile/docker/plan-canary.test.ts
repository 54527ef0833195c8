import { strict as assert } from 'node:assert';
import type { App, CanarySpec } from '../../../../src/manifest/types.js';
import type { Action, Observation, ObservedCanary, Plan } from '../../../../src/reconcile/docker/actions.js';
import { planApp } from '../../../../src/reconcile/docker/plan.js';
import { revisionKey } from '../../../../src/reconcile/core/revision.js';
import type { ContainerSummary } from '../../../../src/runtime/types.js';
import { containerOf, revisionOf, testApp } from '../../../support/apps.js';

const NOW = 10_000_000;
const OLD = `sha256:${'a'.repeat(64)}`;
const NEW = `sha256:${'b'.repeat(64)}`;
const CANARY: CanarySpec = { steps: [10, 50], interval: 30, maxErrorRate: 1, minRequests: 50 };

const v1 = testApp('web', { tag: 'v1', domains: ['web.example.test'] });
const v2 = testApp('web', { tag: 'v2', domains: ['web.example.test'], deploy: { canary: CANARY } });
const stableKey = revisionKey(revisionOf(v1, OLD));
const canaryKey = revisionKey(revisionOf(v2, NEW));

/** A running container of `app` published on 127.0.0.1:`port`. */
function listening(app: App, imageId: string, port: number): ContainerSummary {
  return {
    ...containerOf(app, imageId),
    ports: [{ container: 8080, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: port }],
  };
}

const stable = listening(v1, OLD, 32001);
const canaryContainer = listening(v2, NEW, 32002);

function observe(partial: Partial<Observation> = {}): Observation {
  return {
    namespace: 'dokku',
    name: 'web',
    desired: { kind: 'present', app: v2 },
    image: { kind: 'present', id: NEW, repoDigests: [] },
    containers: [stable],
    proxy: true,
    now: NOW,
    route: { held: true, current: true },
    retention: { history: [], owned: [], keep: 5 },
    released: [],
    serving: { revision: stableKey, switchedAt: NOW - 600_000 },
    latestImageId: OLD,
    ...partial,
  };
}

/** A canary at `step` begun `ago` ms before, its step begun `stepAgo` ms before, with these numbers. */
function underWay(
  numbers: { canary: [number, number]; stable: [number, number] },
  o: { step?: number; stepAgo?: number; ago?: number } = {},
): Partial<Observation> {
  const step = o.step ?? 0;
  const canary: ObservedCanary = {
    revision: canaryKey,
    stableRevision: stableKey,
    step,
    percent: CANARY.steps[step] ?? 0,
    startedAt: NOW - (o.ago ?? 40_000),
    stepStartedAt: NOW - (o.stepAgo ?? 40_000),
    stats: {
      canary: { requests: numbers.canary[0], errors: numbers.canary[1] },
      stable: { requests: numbers.stable[0], errors: numbers.stable[1] },
    },
  };
  return { containers: [stable, canaryContainer], canary };
}

const types = (plan: Plan) => plan.actions.map((a) => a.type);
const find = <T extends Action['type']>(plan: Plan, type: T) =>
  plan.actions.find((a): a is Extract<Action, { type: T }> => a.type === type);

describe('planApp with deploy.canary', () => {
  it('routes the first step instead of the switch once the new containers pass their checks', () => {
    const plan = planApp(observe());
    assert.deepEqual(types(plan), ['create', 'check', 'canaryStep']);
    const step = find(plan, 'canaryStep');
    assert.deepEqual(
      { revision: step?.revision, stable: step?.stableRevision, percent: step?.percent, step: step?.step },
      { revision: canaryKey, stable: stableKey, percent: 10, step: 0 },
    );
    assert.equal(plan.outcome.phase, 'Deploying');
    assert.equal(plan.canary?.kind, 'step');
    assert.ok(plan.rollout, 'the rollout begins (deploy.started)');
  });

  it('switches at once, saying why, on a first deploy (nothing serves to compare with)', () => {
    const plan = planApp(observe({ containers: [], serving: undefined }));
    assert.deepEqual(types(plan), ['create', 'check', 'switch', 'retag']);
    assert.match(plan.outcome.message, /deploy\.canary skipped: no revision serves/);
    assert.equal(plan.canary, undefined);
  });

  it('switches at once, saying why, without --proxy nginx', () => {
    const plan = planApp(observe({ proxy: false }));
    assert.ok(types(plan).includes('switch'));
    assert.match(plan.outcome.message, /deploy\.canary skipped: .*without --proxy nginx/);
  });

  it('too little traffic: waits, saying how much, looked at again in a second; nothing is created or checked again', () => {
    const plan = planApp(observe(underWay({ canary: [12, 0], stable: [100, 0] })));
    assert.deepEqual(types(plan), []);
    assert.equal(plan.outcome.phase, 'Deploying');
    assert.equal(plan.outcome.message, 'canary 10%: 12 of 50 requests');
    assert.equal(plan.requeueAfterMs, 1000);
    assert.equal(plan.canary?.kind, 'wait');
  });

  it('a step within its thresholds that passed its interval moves to the next step', () => {
    const plan = planApp(observe(underWay({ canary: [200, 0], stable: [1800, 1] })));
    assert.deepEqual(types(plan), ['canaryStep']);
    assert.equal(find(plan, 'canaryStep')?.percent, 50);
    assert.equal(find(plan, 'canaryStep')?.step, 1);
    assert.equal(plan.rollout, undefined, 'the rollout began with the first step');
  });

  it('the last step passed: promoted by the switch, retag and the old revision behind as backup', () => {
    const plan = planApp(observe(underWay({ canary: [900, 1], stable: [900, 0] }, { step: 1 })));
    assert.deepEqual(types(plan), ['switch', 'retag']);
    assert.equal(find(plan, 'switch')?.revision, canaryKey);
    assert.equal(find(plan, 'switch')?.backupRevision, stableKey);
    assert.equal(plan.canary?.kind, 'promote');
    assert.equal(plan.outcome.phase, 'Running');
    assert.ok(plan.rollout, 'the promotion ends the rollout (history, deploy.succeeded)');
  });

  it('too many errors: rolled back to the stable revision with the numbers, the canary containers go', () => {
    const plan = planApp(observe(underWay({ canary: [412, 29], stable: [3702, 0] }, { stepAgo: 5_000 })));
    assert.deepEqual(types(plan), ['rollback']);
    const rollback = find(plan, 'rollback');
    assert.equal(rollback?.to, stableKey);
    assert.equal(rollback?.from, canaryKey);
    assert.deepEqual(rollback?.containers, [{ id: canaryContainer.id, name: canaryContainer.name }]);
    assert.match(rollback?.reason ?? '', /at 10% failed: 7\.0% errors over 412 requests/);
    assert.equal(plan.canary?.kind, 'abort');
    assert.equal(plan.canary?.numbers?.requests, 412);
  });

  it('old and new failing alike: waits (the backend fails for everyone)', () => {
    const plan = planApp(observe(underWay({ canary: [100, 10], stable: [900, 85] })));
    assert.deepEqual(types(plan), []);
    assert.match(plan.outcome.message, /fails alike/);
  });

  it('progressDeadline from the first step bounds the canary: rolled back', () => {
    const plan = planApp(observe(underWay({ canary: [3, 0], stable: [10, 0] }, { ago: 601_000 })));
    assert.deepEqual(types(plan), ['rollback']);
    assert.match(find(plan, 'rollback')?.reason ?? '', /progressDeadline \(600s\)/);
  });

  it('a canary container that went away: rolled back', () => {
    const plan = planApp(observe({ ...underWay({ canary: [3, 0], stable: [10, 0] }), containers: [stable] }));
    assert.deepEqual(types(plan), ['rollback']);
    assert.match(find(plan, 'rollback')?.reason ?? '', /stopped/);
  });

  it('the proxy lost the split: the wait puts it back', () => {
    const plan = planApp(
      observe({ ...underWay({ canary: [3, 0], stable: [10, 0] }), route: { held: true, current: false } }),
    );
    assert.deepEqual(types(plan), ['route']);
    const route = find(plan, 'route');
    assert.deepEqual(route?.endpoints, ['127.0.0.1:32001']);
    assert.deepEqual(route?.canary, { endpoints: ['127.0.0.1:32002'], percent: 10 });
  });

  it('the manifest went back to the stable revision: the canary is abandoned, all traffic to what serves', () => {
    const back = observe({
      ...underWay({ canary: [3, 0], stable: [10, 0] }),
      desired: { kind: 'present', app: v1 },
      image: { kind: 'present', id: OLD, repoDigests: [] },
    });
    const plan = planApp(back);
    const route = find(plan, 'route');
    assert.deepEqual(route?.endpoints, ['127.0.0.1:32001']);
    assert.equal(route?.canary, undefined);
    assert.equal(plan.canary, undefined);
  });

  it('`berth promote`: the new revision takes every request now, whatever the numbers', () => {
    const plan = planApp(observe({ ...underWay({ canary: [3, 0], stable: [10, 0] }), canaryDecision: 'promote' }));
    assert.deepEqual(types(plan), ['switch', 'retag']);
    assert.equal(plan.canary?.kind, 'promote');
    assert.match(plan.canary?.reason ?? '', /berth promote/);
  });

  it('`berth abort`: traffic back to the stable revision now, whatever the numbers', () => {
    const plan = planApp(observe({ ...underWay({ canary: [900, 0], stable: [900, 0] }), canaryDecision: 'abort' }));
    assert.deepEqual(types(plan), ['rollback']);
    assert.match(find(plan, 'rollback')?.reason ?? '', /aborted by `berth abort`/);
  });

  it('`berth plan` (no access log read): a step under way is left to the running berth', () => {
    const { canary, ...rest } = underWay({ canary: [900, 900], stable: [900, 0] });
    const { stats: _unread, ...recorded } = canary ?? ({} as ObservedCanary);
    const plan = planApp(observe({ ...rest, canary: recorded as ObservedCanary }));
    assert.deepEqual(types(plan), []);
    assert.equal(plan.outcome.message, 'canary at 10%: judged by the running berth');
  });
});
