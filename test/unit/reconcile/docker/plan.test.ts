import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import type { Action, Desired, Observation, Plan } from '../../../../src/reconcile/docker/actions.js';
import { planApp } from '../../../../src/reconcile/docker/plan.js';
import { parseRevisionKey, revisionKey } from '../../../../src/reconcile/core/revision.js';
import type { App } from '../../../../src/manifest/types.js';
import { containerOf, revisionOf, testApp } from '../../../support/apps.js';

const NOW = 1_000_000;
const OLD = `sha256:${'a'.repeat(64)}`;
const NEW = `sha256:${'b'.repeat(64)}`;

/** `latest` points at the serving image unless the case says otherwise, as after every finished deploy. */
function observe(desired: Desired, partial: Partial<Observation> = {}): Observation {
  const latestImageId = partial.serving ? parseRevisionKey(partial.serving.revision).imageId : undefined;
  return {
    namespace: 'dokku',
    name: 'web',
    desired,
    containers: [],
    proxy: false,
    now: NOW,
    route: { held: false, current: true },
    retention: { history: [], owned: [], keep: 5 },
    released: [],
    ...(latestImageId ? { latestImageId } : {}),
    ...partial,
  };
}
const present = (app: App, invalid?: string): Desired => ({ kind: 'present', app, ...(invalid ? { invalid } : {}) });
const image = (id: string, repoDigests: string[] = []) => ({ kind: 'present' as const, id, repoDigests });
const servingOf = (app: App, id: string, switchedAt = NOW - 5_000) => ({
  revision: revisionKey(revisionOf(app, id)),
  switchedAt,
});
const steps = (plan: Plan) => plan.actions.map((a) => a.type);
const find = <T extends Action['type']>(plan: Plan, type: T) =>
  plan.actions.find((a): a is Extract<Action, { type: T }> => a.type === type);

const v1 = testApp('web', { tag: 'v1' });
const v2 = testApp('web', { tag: 'v2' });

describe('planApp', () => {
  const cases: {
    name: string;
    observation: Observation;
    steps: Action['type'][];
    phase: string;
    requeueAfterMs?: number;
    rollout?: boolean;
  }[] = [
    {
      name: 'first deploy creates, checks, switches and retags',
      observation: observe(present(v1), { image: image(OLD) }),
      steps: ['create', 'check', 'switch', 'retag'],
      phase: 'Running',
      rollout: true,
    },
    {
      name: 'killed between the switch and the retag: the next pass retags latest and previous',
      observation: observe(present(v2), {
        image: image(NEW),
        containers: [containerOf(v1, OLD), containerOf(v2, NEW)],
        serving: servingOf(v2, NEW, NOW - 1_000),
        latestImageId: OLD,
      }),
      steps: ['retag'],
      phase: 'Running',
      requeueAfterMs: 59_000,
    },
    {
      name: 'a converged app needs nothing',
      observation: observe(present(v1), {
        image: image(OLD),
        containers: [containerOf(v1, OLD)],
        serving: servingOf(v1, OLD),
      }),
      steps: [],
      phase: 'Running',
    },
    {
      name: 'a tag edit rolls out next to the old container and retires it later',
      observation: observe(present(v2), {
        image: image(NEW),
        containers: [containerOf(v1, OLD)],
        serving: servingOf(v1, OLD),
      }),
      steps: ['create', 'check', 'switch', 'retag'],
      phase: 'Running',
      requeueAfterMs: 60_000,
      rollout: true,
    },
    {
      name: 'old containers retire once retireAfter has passed since the switch',
      observation: observe(present(v2), {
        image: image(NEW),
        containers: [containerOf(v1, OLD), containerOf(v2, NEW)],
        serving: servingOf(v2, NEW, NOW - 61_000),
      }),
      steps: ['retire'],
      phase: 'Running',
    },
    {
      name: 'old containers wait out the rest of retireAfter',
      observation: observe(present(v2), {
        image: image(NEW),
        containers: [containerOf(v1, OLD), containerOf(v2, NEW)],
        serving: servingOf(v2, NEW, NOW - 10_000),
      }),
      steps: [],
      phase: 'Running',
      requeueAfterMs: 50_000,
    },
    {
      name: 'a clock that jumped backwards past the switch retires the old containers now, not an hour later',
      observation: observe(present(v2), {
        image: image(NEW),
        containers: [containerOf(v1, OLD), containerOf(v2, NEW)],
        serving: servingOf(v2, NEW, NOW + 3_600_000),
      }),
      steps: ['retire'],
      phase: 'Running',
    },
    {
      name: 'retireAfter 0 retires in the same pass',
      observation: observe(present(testApp('web', { tag: 'v2', deploy: { retireAfter: 0 } })), {
        image: image(NEW),
        containers: [containerOf(v1, OLD)],
        serving: servingOf(v1, OLD),
      }),
      steps: ['create', 'check', 'switch', 'retag', 'retire'],
      phase: 'Running',
      rollout: true,
    },
    {
      name: 'a missing local image leaves the app Pending and touches nothing',
      observation: observe(present(v2), {
        image: { kind: 'missing' },
        containers: [containerOf(v1, OLD)],
        serving: servingOf(v1, OLD),
      }),
      steps: [],
      phase: 'Pending',
    },
    {
      name: 'a missing image from another repository is pulled',
      observation: observe(present(testApp('web', { image: '127.0.0.1:5000/team/web' })), {
        image: { kind: 'missing' },
      }),
      steps: ['pull'],
      phase: 'Deploying',
    },
    {
      name: 'an image from another repository is mirrored as <namespace>/<app>:<tag>',
      observation: observe(present(testApp('web', { image: '127.0.0.1:5000/team/web' })), { image: image(NEW) }),
      steps: ['tag', 'create', 'check', 'switch', 'retag'],
      phase: 'Running',
      rollout: true,
    },
    {
      name: 'a killed deploy resumes by checking the unverified containers again',
      observation: observe(present(v2), {
        image: image(NEW),
        containers: [containerOf(v1, OLD), containerOf(v2, NEW)],
        serving: servingOf(v1, OLD),
      }),
      steps: ['check', 'switch', 'retag'],
      phase: 'Running',
      requeueAfterMs: 60_000,
      rollout: true,
    },
    {
      name: 'an exited container of the desired revision is replaced',
      observation: observe(present(v1), {
        image: image(OLD),
        containers: [containerOf(v1, OLD, { state: 'exited' })],
        serving: servingOf(v1, OLD),
      }),
      steps: ['remove', 'create', 'check', 'switch'],
      phase: 'Running',
    },
    {
      name: 'scaling up creates and checks only the new replicas',
      observation: observe(present(testApp('web', { replicas: 3 })), {
        image: image(OLD),
        containers: [containerOf(v1, OLD)],
        serving: servingOf(testApp('web', { replicas: 3 }), OLD),
      }),
      steps: ['create', 'create', 'check', 'switch'],
      phase: 'Running',
    },
    {
      name: 'scaling down retires the surplus replica',
      observation: observe(present(v1), {
        image: image(OLD),
        containers: [containerOf(v1, OLD), containerOf(v1, OLD, { replica: 1 })],
        serving: servingOf(v1, OLD),
      }),
      steps: ['retire'],
      phase: 'Running',
    },
    {
      name: 'replicas 0 retires everything at once',
      observation: observe(present(testApp('web', { replicas: 0 })), {
        image: image(OLD),
        containers: [containerOf(v1, OLD)],
        serving: servingOf(v1, OLD),
      }),
      steps: ['retire'],
      phase: 'Running',
    },
    {
      name: 'a fixed host port without an explicit strategy rolls out by recreate',
      observation: observe(
        present(
          testApp('web', {
            tag: 'v2',
            ports: [{ container: 8080, host: 18080, hostIp: '127.0.0.1', protocol: 'tcp' }],
          }),
        ),
        {
          image: image(NEW),
          containers: [containerOf(v1, OLD)],
          serving: servingOf(v1, OLD),
        },
      ),
      steps: ['stop', 'create', 'check', 'switch', 'retag', 'retire'],
      phase: 'Running',
      rollout: true,
    },
    {
      name: 'an invalid manifest reports Invalid and keeps reconciling the last valid one',
      observation: observe(present(v1, 'web.yaml:3:5: spec.tag: must be a string'), {
        image: image(OLD),
        containers: [containerOf(v1, OLD)],
        serving: servingOf(v1, OLD),
      }),
      steps: [],
      phase: 'Invalid',
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const plan = planApp(c.observation);
      assert.deepEqual(steps(plan), c.steps);
      assert.equal(plan.outcome.phase, c.phase);
      assert.equal(plan.requeueAfterMs, c.requeueAfterMs);
      assert.equal(plan.rollout !== undefined, c.rollout ?? false);
      assert.equal(plan.refused, undefined);
      for (const action of plan.actions) assert.ok(action.reason.length > 0, `${action.type} has a reason`);
    });
  }

  it('points latest at the new image and previous at the one that served', () => {
    const plan = planApp(
      observe(present(v2), { image: image(NEW), containers: [containerOf(v1, OLD)], serving: servingOf(v1, OLD) }),
    );
    assert.deepEqual(find(plan, 'retag'), {
      type: 'retag',
      repository: 'dokku/web',
      latest: NEW,
      previous: OLD,
      reason: 'point latest at the deployed image',
    });
  });

  it('checks exactly the containers it creates, labelled for berth', () => {
    const plan = planApp(observe(present(testApp('web', { replicas: 2 })), { image: image(NEW) }));
    const created = plan.actions
      .filter((a): a is Extract<Action, { type: 'create' }> => a.type === 'create')
      .map((a) => a.spec);
    assert.deepEqual(
      find(plan, 'check')?.containers,
      created.map((c) => c.name),
    );
    assert.deepEqual(
      created.map((c) => [c.labels['berth.managed'], c.labels['berth.app'], c.labels['berth.replica'], c.image]),
      [
        ['true', 'web', '0', NEW],
        ['true', 'web', '1', NEW],
      ],
    );
  });

  it('treats the same spec on a re-pointed tag as a new revision, and the same image id as none', () => {
    const repointed = planApp(
      observe(present(v1), { image: image(NEW), containers: [containerOf(v1, OLD)], serving: servingOf(v1, OLD) }),
    );
    assert.ok(repointed.rollout);
    const same = planApp(
      observe(present(v1), { image: image(OLD), containers: [containerOf(v1, OLD)], serving: servingOf(v1, OLD) }),
    );
    assert.equal(same.rollout, undefined);
  });

  it('treats an env change on the same image as a new revision', () => {
    const withEnv = testApp('web', { env: { MODE: 'blue' } });
    const plan = planApp(
      observe(present(withEnv), { image: image(OLD), containers: [containerOf(v1, OLD)], serving: servingOf(v1, OLD) }),
    );
    assert.ok(plan.rollout);
  });

  it('does not restart anything when only replicas-independent fields change', () => {
    const tuned = testApp('web', { checks: { wait: 3 }, deploy: { retireAfter: 5 }, domains: ['web.example.test'] });
    const plan = planApp(
      observe(present(tuned), { image: image(OLD), containers: [containerOf(v1, OLD)], serving: servingOf(v1, OLD) }),
    );
    assert.deepEqual(steps(plan), []);
  });

  it('refuses a digest mismatch, naming both digests, and keeps the old revision (Degraded)', () => {
    const pinned = testApp('web', { tag: 'v2', digest: `sha256:${'c'.repeat(64)}` });
    const plan = planApp(
      observe(present(pinned), {
        image: image(NEW, [`dokku/web@sha256:${'d'.repeat(64)}`]),
        containers: [containerOf(v1, OLD)],
        serving: servingOf(v1, OLD),
      }),
    );
    assert.deepEqual(steps(plan), []);
    assert.equal(plan.outcome.phase, 'Degraded');
    assert.match(plan.refused ?? '', /c{64}/);
    assert.match(plan.refused ?? '', /d{64}/);
  });

  it('refuses a digest mismatch as Failed when nothing serves', () => {
    const pinned = testApp('web', { digest: `sha256:${'c'.repeat(64)}` });
    assert.equal(planApp(observe(present(pinned), { image: image(NEW) })).outcome.phase, 'Failed');
  });

  it('accepts a digest that matches one of the repo digests', () => {
    const digest = `sha256:${'e'.repeat(64)}`;
    const pinned = testApp('web', { digest });
    const plan = planApp(observe(present(pinned), { image: image(NEW, [`127.0.0.1:5000/web@${digest}`]) }));
    assert.equal(plan.refused, undefined);
    assert.ok(plan.rollout);
  });

  it('refuses an explicit zero-downtime strategy with a fixed host port, saying why', () => {
    const app = testApp('web', {
      ports: [{ container: 8080, host: 18080, hostIp: '127.0.0.1', protocol: 'tcp' }],
      deploy: { strategy: 'zero-downtime', strategyExplicit: true },
    });
    const plan = planApp(observe(present(app), { image: image(NEW) }));
    assert.match(plan.refused ?? '', /fixed host port 18080.*recreate/);
  });

  it('removes every container of an app whose manifest is gone', () => {
    const containers = [containerOf(v1, OLD), containerOf(v1, OLD, { replica: 1, state: 'exited' })];
    const plan = planApp(observe({ kind: 'absent' }, { containers }));
    assert.deepEqual(
      find(plan, 'retire')?.containers.map((c) => c.id),
      containers.map((c) => c.id),
    );
    assert.equal(plan.gone, true);
  });

  it('holds the removal when the directory is empty', () => {
    const plan = planApp(
      observe({ kind: 'absent', hold: 'the manifest directory is empty' }, { containers: [containerOf(v1, OLD)] }),
    );
    assert.deepEqual(steps(plan), []);
    assert.notEqual(plan.gone, true);
    assert.match(plan.outcome.message, /empty/);
  });

  describe('every side effect is an action of the plan', () => {
    const routed = (held: boolean) => ({ route: { held, current: false } });
    const withPort = (app: App, id: string, port: number) => ({
      ...containerOf(app, id),
      ports: [{ container: 8080, protocol: 'tcp' as const, hostIp: '127.0.0.1', hostPort: port }],
    });

    it('routes the proxy to the serving containers when its route is missing or stale, and only then', () => {
      const serving = withPort(v1, OLD, 32768);
      const base = { image: image(OLD), containers: [serving], serving: servingOf(v1, OLD) };
      const plan = planApp(observe(present(v1), { ...base, ...routed(false) }));
      assert.deepEqual(steps(plan), ['route']);
      assert.deepEqual(find(plan, 'route')?.endpoints, ['127.0.0.1:32768']);
      assert.match(find(plan, 'route')?.reason ?? '', /no route/);
      assert.match(
        find(planApp(observe(present(v1), { ...base, ...routed(true) })), 'route')?.reason ?? '',
        /does not route to what serves/,
      );
      assert.deepEqual(steps(planApp(observe(present(v1), base))), [], 'a current route is left alone');
    });

    it('keeps routing the serving revision while a new tag waits for its image', () => {
      const plan = planApp(
        observe(present(v2), {
          image: { kind: 'missing' },
          containers: [withPort(v1, OLD, 32768)],
          serving: servingOf(v1, OLD),
          ...routed(false),
        }),
      );
      assert.equal(plan.outcome.phase, 'Pending');
      assert.deepEqual(find(plan, 'route')?.endpoints, ['127.0.0.1:32768']);
    });

    it('removes the route of a removed app first, then its containers; a route alone is removed too', () => {
      const withContainers = planApp(
        observe({ kind: 'absent' }, { containers: [containerOf(v1, OLD)], route: { held: true, current: false } }),
      );
      assert.deepEqual(steps(withContainers), ['unroute', 'retire']);
      const routeOnly = planApp(observe({ kind: 'absent' }, { route: { held: true, current: false } }));
      assert.deepEqual(steps(routeOnly), ['unroute']);
      assert.equal(routeOnly.gone, true);
    });

    it('untags what berth pulled for revisions beyond the kept ones, after a successful rollout only', () => {
      const registry = '127.0.0.1:5000/team/web';
      const at = (tag: string) => testApp('web', { image: registry, tag });
      const deployed = (tag: string, id: string) => ({
        at: 0,
        tag,
        image: registry,
        imageId: id,
        revision: revisionKey(revisionOf(at(tag), id)),
        outcome: 'succeeded' as const,
        durationMs: 1,
      });
      const owned = [`${registry}:v1`, 'dokku/web:v1', `${registry}:v2`, 'dokku/web:v2'];
      const retention = { history: [deployed('v2', NEW), deployed('v1', OLD)], owned, keep: 2 };
      const v3 = at('v3');
      const THIRD = `sha256:${'c'.repeat(64)}`;
      const rollout = planApp(
        observe(present(v3), {
          image: image(THIRD),
          localTagImageId: THIRD,
          containers: [containerOf(at('v2'), NEW)],
          serving: servingOf(at('v2'), NEW),
          retention,
        }),
      );
      assert.deepEqual(steps(rollout).slice(-1), ['untag']);
      assert.deepEqual(
        find(rollout, 'untag')?.refs,
        [`${registry}:v1`, 'dokku/web:v1'],
        'v3 and v2 are the two kept revisions',
      );
      const steady = planApp(
        observe(present(at('v2')), {
          image: image(NEW),
          localTagImageId: NEW,
          containers: [containerOf(at('v2'), NEW)],
          serving: servingOf(at('v2'), NEW),
          retention: { ...retention, keep: 1 },
        }),
      );
      assert.deepEqual(steps(steady), [], 'nothing is untagged outside a rollout');
    });

    it('plans nothing for an app only a never-valid manifest names, and says it is invalid', () => {
      const problem = '/m/web.yaml:3:5: spec.tag must be a string';
      const plan = planApp(observe({ kind: 'absent', hold: problem, invalid: problem }));
      assert.deepEqual(steps(plan), []);
      assert.notEqual(plan.gone, true);
      assert.deepEqual(plan.outcome, { phase: 'Invalid', message: problem });
    });
  });
});

describe('planApp: release step, watch after the switch, held revisions', () => {
  const release = { command: ['./migrate'], timeout: 60 };
  const r1 = testApp('web', { tag: 'v1', release });
  const r2 = testApp('web', { tag: 'v2', release });
  const keyOf = (app: App, id: string) => revisionKey(revisionOf(app, id));
  const detailOf = (
    c: ReturnType<typeof containerOf>,
    patch: { restartCount?: number; health?: 'unhealthy'; startedAt?: number; exitCode?: number } = {},
  ) => ({
    ...c,
    startedAt: NOW - 3_000,
    restartCount: 0,
    exitCode: 0,
    error: '',
    env: {},
    requestedPorts: [],
    ...patch,
  });

  it('runs the release step first in a rollout, before any container is stopped or created, and once per revision', () => {
    const plan = planApp(
      observe(present(r2), { image: image(NEW), containers: [containerOf(r1, OLD)], serving: servingOf(r1, OLD) }),
    );
    assert.deepEqual(steps(plan), ['release', 'create', 'check', 'switch', 'retag']);
    assert.deepEqual(find(plan, 'release')?.hook, release);
    // The planner makes the whole one-off container; the executor only runs it.
    const key = keyOf(r2, NEW);
    assert.deepEqual(find(plan, 'release')?.spec, {
      name: `dokku.web.release.${createHash('sha256').update(key).digest('hex').slice(0, 10)}`,
      image: NEW,
      command: ['./migrate'],
      env: {},
      labels: {
        'berth.managed': 'true',
        'berth.namespace': 'dokku',
        'berth.app': 'web',
        'berth.role': 'release',
        'berth.revision': key,
      },
      ports: [],
      volumes: [],
      resources: {},
      restart: false,
    });
    const recreate = testApp('web', { tag: 'v2', release, deploy: { strategy: 'recreate' } });
    assert.deepEqual(
      steps(
        planApp(
          observe(present(recreate), {
            image: image(NEW),
            containers: [containerOf(r1, OLD)],
            serving: servingOf(r1, OLD),
          }),
        ),
      ).slice(0, 2),
      ['release', 'stop'],
    );
    const released = planApp(
      observe(present(r2), {
        image: image(NEW),
        containers: [containerOf(r1, OLD)],
        serving: servingOf(r1, OLD),
        released: [keyOf(r2, NEW)],
      }),
    );
    assert.deepEqual(
      steps(released),
      ['create', 'check', 'switch', 'retag'],
      'a released revision (a restart, a re-creation) never releases again',
    );
  });

  it('keeps a held revision out: what serves keeps serving, nothing retires, and the message says how to retry', () => {
    const plan = planApp(
      observe(present(v2), {
        image: image(NEW),
        containers: [containerOf(v1, OLD)],
        serving: servingOf(v1, OLD, NOW - 600_000),
        held: { revision: keyOf(v2, NEW), reason: 'web.1 restarted' },
      }),
    );
    assert.deepEqual(steps(plan), []);
    assert.equal(plan.outcome.phase, 'Degraded');
    assert.match(
      plan.outcome.message,
      /dokku\/web:v2 is held after it failed \(web\.1 restarted\); the previous revision keeps serving until the manifest changes or `berth retry web`/,
    );
    const v3 = testApp('web', { tag: 'v3' });
    assert.ok(
      planApp(
        observe(present(v3), {
          image: image(`sha256:${'c'.repeat(64)}`),
          containers: [containerOf(v1, OLD)],
          serving: servingOf(v1, OLD),
          held: { revision: keyOf(v2, NEW), reason: 'x' },
        }),
      ).rollout,
      'another revision deploys',
    );
  });

  it('within deploy.monitor, a new container that restarted sends traffic back to the previous revision, which still runs', () => {
    const oldC = containerOf(v1, OLD);
    const newC = containerOf(v2, NEW);
    const observation = observe(present(v2), {
      image: image(NEW),
      containers: [oldC, newC],
      serving: servingOf(v2, NEW, NOW - 5_000),
      previousRevision: keyOf(v1, OLD),
      servingDetails: [detailOf(newC, { restartCount: 1, exitCode: 3 })],
      retention: { history: [], owned: [], keep: 5 },
    });
    const plan = planApp(observation);
    assert.deepEqual(steps(plan), ['rollback']);
    const rollback = find(plan, 'rollback')!;
    assert.equal(rollback.to, keyOf(v1, OLD));
    assert.deepEqual(
      rollback.containers.map((c) => c.id),
      [newC.id],
    );
    assert.equal(rollback.latest, OLD);
    assert.match(
      rollback.reason,
      /exited and was restarted by the engine \(exit code 3\) within deploy\.monitor \(60s\) after the switch/,
    );
    assert.equal(plan.outcome.phase, 'Degraded');

    const healthy = planApp({ ...observation, servingDetails: [detailOf(newC)] });
    assert.deepEqual(steps(healthy), [], "no checks to probe: the engine's events wake berth");
    assert.equal(healthy.requeueAfterMs, 55_000);
    const late = planApp({ ...observation, serving: servingOf(v2, NEW, NOW - 61_000) });
    assert.deepEqual(steps(late), ['retire'], 'past the window: no rollback, the old container retires');
  });

  it('switches with the serving revision as the backup while deploy.monitor watches, and drops it when the window ends', () => {
    const oldC = {
      ...containerOf(v1, OLD),
      ports: [{ container: 8080, protocol: 'tcp' as const, hostIp: '127.0.0.1', hostPort: 40001 }],
    };
    const rollout = planApp(
      observe(present(v2), { image: image(NEW), containers: [oldC], serving: servingOf(v1, OLD, NOW - 600_000) }),
    );
    const switched = find(rollout, 'switch')!;
    assert.equal(switched.backupRevision, keyOf(v1, OLD));
    assert.match(switched.reason, /the previous revision stays behind it as the backup/);
    const unwatched = testApp('web', { tag: 'v2', deploy: { monitor: 0 } });
    assert.equal(
      find(
        planApp(observe(present(unwatched), { image: image(NEW), containers: [oldC], serving: servingOf(v1, OLD) })),
        'switch',
      )!.backupRevision,
      undefined,
      'no watch, no backup',
    );

    // The route as the proxy should hold it: the new containers, the old ones behind them within the window.
    const newC = {
      ...containerOf(v2, NEW),
      ports: [{ container: 8080, protocol: 'tcp' as const, hostIp: '127.0.0.1', hostPort: 40002 }],
    };
    const watched = observe(present(v2), {
      image: image(NEW),
      containers: [oldC, newC],
      serving: servingOf(v2, NEW, NOW - 5_000),
      previousRevision: keyOf(v1, OLD),
      servingDetails: [detailOf(newC)],
      route: { held: true, current: false },
    });
    assert.deepEqual(find(planApp(watched), 'route'), {
      type: 'route',
      endpoints: ['127.0.0.1:40002'],
      backups: ['127.0.0.1:40001'],
      reason: 'the proxy does not route to what serves',
    });
    const ended = find(planApp({ ...watched, serving: servingOf(v2, NEW, NOW - 61_000) }), 'route')!;
    assert.deepEqual(ended.endpoints, ['127.0.0.1:40002']);
    assert.equal(ended.backups, undefined);
    assert.match(ended.reason, /after deploy\.monitor, the previous revision leaves the route/);
  });

  it('probes the checks of the new containers each second within the window', () => {
    const checked = testApp('web', {
      tag: 'v2',
      checks: { wait: 0, http: [{ path: '/health', port: 8080, attempts: 5, wait: 5, timeout: 2 }] },
    });
    const old = testApp('web', { tag: 'v1', checks: checked.spec.checks });
    const newC = containerOf(checked, NEW);
    const plan = planApp(
      observe(present(checked), {
        image: image(NEW),
        containers: [containerOf(old, OLD), newC],
        serving: servingOf(checked, NEW, NOW - 5_000),
        previousRevision: keyOf(old, OLD),
        servingDetails: [detailOf(newC)],
      }),
    );
    assert.deepEqual(steps(plan), ['probe']);
    assert.equal(find(plan, 'probe')?.rollback.to, keyOf(old, OLD));
    assert.equal(plan.requeueAfterMs, 1_000);
  });

  it('reports a serving container that the engine keeps restarting as Degraded, with its exit code', () => {
    const c = containerOf(v1, OLD);
    const plan = planApp(
      observe(present(v1), {
        image: image(OLD),
        containers: [c],
        serving: servingOf(v1, OLD, NOW - 3_600_000),
        servingDetails: [detailOf(c, { restartCount: 4, exitCode: 1, startedAt: NOW - 10_000 })],
      }),
    );
    assert.equal(plan.outcome.phase, 'Degraded');
    assert.match(plan.outcome.message, /restarted 4 times \(last exit code 1\)/);
    const calm = planApp(
      observe(present(v1), {
        image: image(OLD),
        containers: [c],
        serving: servingOf(v1, OLD, NOW - 3_600_000),
        servingDetails: [detailOf(c, { restartCount: 4, startedAt: NOW - 3_000_000 })],
      }),
    );
    assert.equal(calm.outcome.phase, 'Running', 'restarts long ago are history');
  });

  it('leaves a serving revision the engine keeps restarting to its restart policy: nothing removed or recreated, Failed with the reason', () => {
    const c = containerOf(v1, OLD, { state: 'restarting', createdAt: NOW - 60_000 });
    const plan = planApp(
      observe(present(v1), {
        image: image(OLD),
        containers: [c],
        serving: servingOf(v1, OLD, NOW - 60_000),
        servingDetails: [detailOf(c, { restartCount: 5, exitCode: 3, startedAt: NOW - 2_000 })],
      }),
    );
    assert.deepEqual(
      steps(plan).filter((s) => s === 'remove' || s === 'create' || s === 'check' || s === 'switch'),
      [],
      'the serving container keeps its slot',
    );
    assert.equal(plan.outcome.phase, 'Failed');
    assert.match(plan.outcome.message, /^restarting: exit code 3, 5 restarts in 1 min; nothing serves/);
    assert.deepEqual(plan.crashLoop, { revision: keyOf(v1, OLD), message: plan.outcome.message });
    // A new revision's container that restarts is a failed candidate, as before: it is removed and the rollout retried.
    const candidate = containerOf(v2, NEW, { state: 'restarting' });
    const rollout = planApp(
      observe(present(v2), {
        image: image(NEW),
        containers: [containerOf(v1, OLD), candidate],
        serving: servingOf(v1, OLD),
      }),
    );
    assert.ok(steps(rollout).includes('remove') && steps(rollout).includes('create'));
    assert.equal(rollout.crashLoop, undefined);
  });
});

describe('planApp: decrypted secret files no container mounts are swept', () => {
  const ROOT = '/dev/shm/berth/dokku/web';
  const digest = (c: string) => c.repeat(64);
  const [D0, D1, D2] = [digest('0'), digest('1'), digest('2')];
  const withSecrets = (tag: string, d: string, overrides = {}) =>
    testApp('web', {
      tag,
      resolved: { env: {}, files: [{ target: '/run/secrets/db', content: Buffer.from('x') }], digest: d, root: ROOT },
      ...overrides,
    });
  const s1 = withSecrets('v1', D1);
  const s2 = withSecrets('v2', D2);
  const onDisk = (...digests: string[]) => ({ secretFiles: { root: ROOT, digests } });
  const cases: {
    name: string;
    observation: Observation;
    steps: Action['type'][];
    sweep?: { keep: string[]; remove: string[]; reason: RegExp };
  }[] = [
    {
      name: 'a digest no container mounts goes; those the old and the new revision mount stay while both run',
      observation: observe(present(s2), {
        image: image(NEW),
        containers: [containerOf(s1, OLD), containerOf(s2, NEW)],
        serving: servingOf(s2, NEW, NOW - 10_000),
        ...onDisk(D0, D1, D2),
      }),
      steps: ['sweepSecrets'],
      sweep: { keep: [D1, D2], remove: [D0], reason: /no container of the app mounts them/ },
    },
    {
      name: 'the digest of retired containers goes in the plan that retires them',
      observation: observe(present(s2), {
        image: image(NEW),
        containers: [containerOf(s1, OLD), containerOf(s2, NEW)],
        serving: servingOf(s2, NEW, NOW - 61_000),
        ...onDisk(D1, D2),
      }),
      steps: ['retire', 'sweepSecrets'],
      sweep: { keep: [D2], remove: [D1], reason: /no container of the app mounts them/ },
    },
    {
      name: 'a rollout that retires at once sweeps what the replaced containers mounted; the new digest stays',
      observation: observe(present(withSecrets('v2', D2, { deploy: { retireAfter: 0 } })), {
        image: image(NEW),
        containers: [containerOf(s1, OLD)],
        serving: servingOf(s1, OLD),
        ...onDisk(D1),
      }),
      steps: ['create', 'check', 'switch', 'retag', 'retire', 'sweepSecrets'],
      sweep: { keep: [D2], remove: [D1], reason: /no container of the app mounts them/ },
    },
    {
      name: 'nothing is swept while every digest on disk is mounted or wanted',
      observation: observe(present(s2), {
        image: image(NEW),
        containers: [containerOf(s1, OLD), containerOf(s2, NEW)],
        serving: servingOf(s2, NEW, NOW - 10_000),
        ...onDisk(D1, D2),
      }),
      steps: [],
    },
    {
      name: "the wanted revision's digest stays before any container of it exists (a new tag waits for its image)",
      observation: observe(present(s2), {
        image: { kind: 'missing' },
        containers: [containerOf(s1, OLD)],
        serving: servingOf(s1, OLD),
        ...onDisk(D1, D2),
      }),
      steps: [],
    },
    {
      name: 'a removed app: its containers retire, then all its secret files and their directory go',
      observation: observe({ kind: 'absent' }, { containers: [containerOf(s1, OLD)], ...onDisk(D1) }),
      steps: ['retire', 'sweepSecrets'],
      sweep: { keep: [], remove: [D1], reason: /its manifest was removed/ },
    },
    {
      name: 'a removed app with nothing left but its empty directory: the directory goes',
      observation: observe({ kind: 'absent' }, onDisk()),
      steps: ['sweepSecrets'],
      sweep: { keep: [], remove: [], reason: /its manifest was removed/ },
    },
    {
      name: 'an app that no longer has secret files: once no container mounts any, the directory goes',
      observation: observe(present(v2), {
        image: image(NEW),
        containers: [containerOf(v2, NEW)],
        serving: servingOf(v2, NEW),
        ...onDisk(D1),
      }),
      steps: ['sweepSecrets'],
      sweep: { keep: [], remove: [D1], reason: /no container of the app mounts them/ },
    },
    {
      name: 'a held removal keeps what its containers mount',
      observation: observe(
        { kind: 'absent', hold: 'the manifest directory is empty' },
        { containers: [containerOf(s1, OLD)], ...onDisk(D0, D1) },
      ),
      steps: ['sweepSecrets'],
      sweep: { keep: [D1], remove: [D0], reason: /no container of the app mounts them/ },
    },
    {
      name: 'a directory that failed its checks is never swept',
      observation: observe(
        { kind: 'absent' },
        {
          containers: [containerOf(s1, OLD)],
          secretFiles: { root: ROOT, digests: [], unsafe: `${ROOT}: has mode 0755` },
        },
      ),
      steps: ['retire'],
    },
    {
      name: 'a refused plan sweeps nothing',
      observation: observe(present(withSecrets('v2', D2, { digest: `sha256:${'c'.repeat(64)}` })), {
        image: image(NEW),
        containers: [containerOf(s1, OLD)],
        serving: servingOf(s1, OLD),
        ...onDisk(D0, D1),
      }),
      steps: [],
    },
    {
      name: 'without a secrets directory (none configured, or none made yet) there is nothing to sweep',
      observation: observe({ kind: 'absent' }, { containers: [containerOf(s1, OLD)] }),
      steps: ['retire'],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const plan = planApp(c.observation);
      assert.deepEqual(steps(plan), c.steps);
      const sweep = find(plan, 'sweepSecrets');
      assert.deepEqual(
        sweep && { keep: sweep.keep, remove: sweep.remove, root: sweep.root },
        c.sweep && { keep: c.sweep.keep, remove: c.sweep.remove, root: ROOT },
      );
      if (c.sweep) assert.match(sweep?.reason ?? '', c.sweep.reason);
    });
  }
});
