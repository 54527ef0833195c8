import { strict as assert } from 'node:assert';
import { appStatus, appStatuses, engineOutage } from '../../../src/status/app-status.js';
import type { AppRecord } from '../../../src/state/types.js';
import { containerOf, testApp } from '../../support/apps.js';
import { taskOf as task, TWO_NODES as nodes } from '../../support/tasks.js';

const record = (patch: Partial<AppRecord>): AppRecord => ({
  phase: 'Running',
  message: '',
  since: 1_000,
  history: [],
  ...patch,
});
const conditions = (status: ReturnType<typeof appStatus>) => status.conditions.map((c) => `${c.type}=${c.status}`);

describe('app status (status --json, /api/apps)', () => {
  it('the running tag is the serving tag only while the serving image runs', () => {
    const app = testApp('web');
    const serving = record({ desiredTag: 'v2', servingImageId: 'sha256:new', servingTag: 'v2' });
    assert.equal(appStatus('web', serving, [containerOf(app, 'sha256:new')]).running.tag, 'v2');
    assert.equal(appStatus('web', serving, [containerOf(app, 'sha256:other')]).running.tag, null);
  });

  it('derives Available, Progressing and UpToDate from the phase and the containers', () => {
    const app = testApp('web');
    const running = appStatus('web', record({ desiredTag: 'v1', servingImageId: 'sha256:a', servingTag: 'v1' }), [
      containerOf(app, 'sha256:a'),
    ]);
    assert.deepEqual(conditions(running), ['Available=True', 'Progressing=False', 'UpToDate=True']);
    const deploying = appStatus(
      'web',
      record({ phase: 'Deploying', desiredTag: 'v2', servingImageId: 'sha256:a', servingTag: 'v1' }),
      [containerOf(app, 'sha256:a')],
    );
    assert.deepEqual(conditions(deploying), ['Available=True', 'Progressing=True', 'UpToDate=False']);
    const failed = appStatus('web', record({ phase: 'Failed', lastError: 'boom' }), []);
    assert.deepEqual(conditions(failed), ['Available=False', 'Progressing=False', 'UpToDate=False']);
    assert.equal(failed.conditions[2]?.message, 'boom');
  });

  it('without the engine, lists recorded apps with availability Unknown', () => {
    const state = { names: () => ['web'], get: () => record({ desiredTag: 'v1' }) };
    const [web] = appStatuses({ state, containers: undefined });
    assert.equal(web?.conditions[0]?.status, 'Unknown');
    assert.equal(engineOutage({ reachable: true, since: 0 }), undefined);
    assert.match(
      engineOutage({ reachable: false, since: 0, error: 'connect ENOENT' }) ?? '',
      /has not reached the Docker engine since 1970-01-01T00:00:00.000Z \(connect ENOENT\)/,
    );
  });

  it('lists apps berth has no record of but Docker runs (adopted after a lost state file)', () => {
    const app = testApp('api');
    const statuses = appStatuses({
      state: { names: () => [], get: () => undefined },
      containers: [containerOf(app, 'sha256:a')],
    });
    assert.deepEqual(
      statuses.map((s) => `${s.app} ${s.phase}`),
      ['api Running'],
    );
  });
});

describe('app status on Swarm (the manager task list: every node)', () => {
  const v2 = { specHash: 'h2', image: 'reg/web:v2@sha256:d2' };
  const v1 = { specHash: 'h1', image: 'reg/web:v1@sha256:d1' };
  const deploy = (tag: string, revision: string, at: number) => ({
    at,
    tag,
    image: 'reg/web',
    imageId: revision.split('@')[1]!,
    revision,
    outcome: 'succeeded' as const,
    durationMs: 1_000,
  });
  const serving = record({
    desiredTag: 'v2',
    servingRevision: 'h2@sha256:d2',
    servingImageId: 'sha256:d2',
    servingTag: 'v2',
    history: [deploy('v2', 'h2@sha256:d2', 20_000), deploy('v1', 'h1@sha256:d1', 10_000)],
  });

  it('lists each current task with its node (id, hostname, address), state, revision and tag; ended tasks are history', () => {
    const tasks = [
      task({ id: 't-old', slot: 1, nodeId: nodes[0]!.id, state: 'shutdown', desiredState: 'shutdown', ...v1 }),
      task({ id: 't1', slot: 1, nodeId: nodes[0]!.id, createdAt: 15_000, ...v2 }),
      task({ id: 't2', slot: 2, nodeId: nodes[1]!.id, createdAt: 16_000, ...v2 }),
    ];
    const [web] = appStatuses({ state: stateOf({ web: serving }), runtime: 'swarm', tasks: { tasks, nodes } });
    assert.equal(web?.runtime, 'swarm');
    assert.deepEqual(
      web?.replicas.map((r) => [r.id, r.name, r.node?.id, r.node?.name, r.node?.address, r.state, r.tag]),
      [
        ['t1', 'web.1', nodes[0]!.id, 'alpha', '10.0.0.5', 'running', 'v2'],
        ['t2', 'web.2', nodes[1]!.id, 'beta', '10.0.0.6', 'running', 'v2'],
      ],
    );
    assert.equal(web?.replicas[0]?.revision, 'h2@sha256:d2', 'the key history records the deploy under');
    assert.equal(web?.running.tag, 'v2', 'the serving revision runs (on the worker too)');
    assert.equal(web?.running.imageId, 'sha256:d2');
    assert.deepEqual(
      web?.running.containers.map((c) => c.id),
      ['t1', 't2'],
      'the containers field lists the tasks of every node',
    );
    assert.deepEqual(conditions(web!), ['Available=True', 'Progressing=False', 'UpToDate=True']);
    assert.equal(web?.conditions[0]?.message, '2 task(s) running on 2 node(s)');
  });

  it("a slot that does not run shows why: its task's error, else the last failed task's of that slot", () => {
    const failed = (id: string, createdAt: number) =>
      task({
        id,
        slot: 1,
        nodeId: nodes[1]!.id,
        state: 'failed',
        desiredState: 'shutdown',
        createdAt,
        error: `task: non-zero exit (${id})`,
      });
    const tasks = [
      failed('f1', 1),
      failed('f2', 2),
      task({ id: 'n1', slot: 1, nodeId: nodes[1]!.id, state: 'starting', createdAt: 3 }),
      task({ id: 'p2', slot: 2, nodeId: '', state: 'pending', createdAt: 3, error: 'no suitable node' }),
    ];
    const web = appStatus('web', serving, { tasks, nodes });
    assert.deepEqual(
      web.replicas.map((r) => `${r.name} ${r.state} ${r.node?.name ?? '-'} ${r.error}`),
      ['web.1 starting beta task: non-zero exit (f2)', 'web.2 pending - no suitable node'],
    );
    assert.deepEqual(conditions(web), ['Available=False', 'Progressing=False', 'UpToDate=False']);
    assert.equal(web.conditions[0]?.message, 'no task of the app is running on any node');
  });

  it('while the manager cannot be asked, shows the record with availability Unknown', () => {
    const [web] = appStatuses({ state: stateOf({ web: serving }), runtime: 'swarm', tasks: undefined });
    assert.equal(web?.conditions[0]?.status, 'Unknown');
    assert.equal(web?.conditions[0]?.message, 'the swarm manager could not be asked for its tasks');
    assert.deepEqual(web?.replicas, []);
  });

  it('on one host each container is a replica without a node', () => {
    const app = testApp('api');
    const [api] = appStatuses({
      state: stateOf({}),
      containers: [containerOf(app, 'sha256:a', { replica: 0 })],
    });
    assert.equal(api?.runtime, 'docker');
    assert.deepEqual(
      api?.replicas.map((r) => [r.node, r.slot, r.state, r.desiredState]),
      [[null, 0, 'running', null]],
    );
  });
});

function stateOf(records: Record<string, AppRecord>) {
  return { names: () => Object.keys(records), get: (name: string) => records[name] };
}
