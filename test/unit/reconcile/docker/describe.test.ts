import { strict as assert } from 'node:assert';
import type { PlannedStep } from '../../../../src/reconcile/core/reconciler.js';
import type { Action, Plan } from '../../../../src/reconcile/docker/actions.js';
import { describeDockerPlan } from '../../../../src/reconcile/docker/describe.js';

/** Each step as `berth plan` prints it. */
const lines = (steps: PlannedStep[]) => steps.map((s) => `${s.symbol} ${s.text}  (${s.reason})`);
const running = { phase: 'Running' as const, message: '1 × dokku/web:v2 running' };
const planOf = (actions: Action[], extra: Partial<Plan> = {}): Plan => ({ actions, outcome: running, ...extra });

describe('describeDockerPlan: a Docker plan in words', () => {
  it('lists route, unroute and untag actions with their reasons', () => {
    const plan = planOf([
      { type: 'route', endpoints: ['127.0.0.1:32768'], reason: 'the proxy has no route for the app' },
      { type: 'untag', refs: ['127.0.0.1:5000/team/web:v1'], reason: 'older than the last 5 deployed revisions' },
    ]);
    assert.deepEqual(lines(describeDockerPlan('web', plan).steps), [
      '→ route the proxy to 127.0.0.1:32768  (the proxy has no route for the app)',
      '- untag 127.0.0.1:5000/team/web:v1  (older than the last 5 deployed revisions)',
    ]);
    const removal = planOf([{ type: 'unroute', reason: 'its manifest was removed' }], { gone: true });
    assert.deepEqual(describeDockerPlan('old', removal), {
      steps: [{ symbol: '-', text: 'remove the proxy route', reason: 'its manifest was removed' }],
      notes: [],
    });
  });

  it('says a route to nothing as a 503, and names what a create publishes and which env keys it sets', () => {
    const plan = planOf([
      { type: 'route', endpoints: [], reason: 'the proxy does not route to what serves' },
      {
        type: 'create',
        spec: {
          name: 'dokku.web.0.abc',
          image: 'sha256:1',
          env: { MODE: 'blue', DB_PASSWORD: 'hunter2' },
          labels: {},
          ports: [{ container: 8080, hostIp: '127.0.0.1', protocol: 'tcp' }],
          volumes: [],
          resources: {},
        },
        reason: 'roll out dokku/web:v2',
      },
    ]);
    const text = lines(describeDockerPlan('web', plan).steps);
    assert.deepEqual(text, [
      '→ route the proxy to nothing (503)  (the proxy does not route to what serves)',
      '+ create dokku.web.0.abc ports 127.0.0.1:*->8080/tcp env MODE,DB_PASSWORD  (roll out dokku/web:v2)',
    ]);
    assert.ok(!text.join('\n').includes('hunter2'), 'env values never show');
  });

  it('says which digests of the secret files go, and their directory when the app keeps none', () => {
    const root = '/dev/shm/berth/dokku/web';
    const [a, b] = ['a'.repeat(64), 'b'.repeat(64)];
    const sweep = (keep: string[], remove: string[]): Action => ({
      type: 'sweepSecrets',
      root,
      keep,
      remove,
      reason: 'no container of the app mounts them',
    });
    assert.deepEqual(lines(describeDockerPlan('web', planOf([sweep([b], [a])])).steps), [
      `- sweep secret files of web: ${'a'.repeat(12)}  (no container of the app mounts them)`,
    ]);
    assert.deepEqual(
      describeDockerPlan('web', planOf([sweep([], [a, b])])).steps.map((s) => s.text),
      [`sweep secret files of web: ${'a'.repeat(12)}, ${'b'.repeat(12)}, and their directory ${root}`],
    );
    assert.deepEqual(
      describeDockerPlan('web', planOf([sweep([], [])])).steps.map((s) => s.text),
      [`sweep secret files of web: its empty directory ${root}`],
    );
  });

  it('notes when the old containers retire, unless the plan retires them now', () => {
    const waiting = planOf([{ type: 'switch', revision: `abc@sha256:${'1'.repeat(64)}`, reason: 'checks passed' }], {
      requeueAfterMs: 59_500,
    });
    assert.deepEqual(describeDockerPlan('web', waiting).notes, ['… old containers retire in 60s']);
    const retiring = planOf([{ type: 'retire', containers: [{ id: 'c1', name: 'dokku.web.0.old' }], reason: 'x' }], {
      requeueAfterMs: 30_000,
    });
    assert.deepEqual(describeDockerPlan('web', retiring).notes, []);
    assert.deepEqual(describeDockerPlan('web', planOf([])).notes, []);
  });

  it('notes secret files left alone because their directory failed its checks', () => {
    const unsafe = '/dev/shm/berth/dokku/web: has mode 0755: other users can reach into it (chmod 700 …)';
    const { notes } = describeDockerPlan('web', planOf([]), {
      secretFiles: { root: '/dev/shm/berth/dokku/web', digests: [], unsafe },
    });
    assert.deepEqual(notes, [`! the secret files of web are not swept: ${unsafe}`]);
  });

  it('says the release step, its image and timeout, and a rollback by the revisions it moves between', () => {
    const to = `0123456789ab@sha256:${'1'.repeat(64)}`;
    const plan = planOf([
      {
        type: 'release',
        revision: `fedcba987654@sha256:${'2'.repeat(64)}`,
        imageId: `sha256:${'2'.repeat(64)}`,
        hook: { command: ['./migrate', '--up'], timeout: 60 },
        spec: {
          name: 'dokku.web.release.0123456789',
          image: `sha256:${'2'.repeat(64)}`,
          env: {},
          labels: {},
          ports: [],
          volumes: [],
          resources: {},
        },
        reason: 'the release step runs once per revision, before any new container serves',
      },
      {
        type: 'rollback',
        to,
        from: `fedcba987654@sha256:${'2'.repeat(64)}`,
        containers: [{ id: 'c2', name: 'dokku.web.0.new' }],
        repository: 'dokku/web',
        reason: 'dokku.web.0.new turned unhealthy',
      },
    ]);
    assert.deepEqual(
      describeDockerPlan('web', plan).steps.map((s) => `${s.symbol} ${s.text}`),
      [
        `▶ release ["./migrate","--up"] in a one-off container of ${'2'.repeat(12)} (timeout 60s)`,
        '← switch traffic back to 0123456789ab, remove dokku.web.0.new',
      ],
    );
  });
});
