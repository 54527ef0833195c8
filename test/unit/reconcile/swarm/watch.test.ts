import { strict as assert } from 'node:assert';
import type { WatchAction } from '../../../../src/reconcile/swarm/actions.js';
import { followRoutes } from '../../../../src/reconcile/swarm/endpoints.js';
import { unusedSecrets } from '../../../../src/reconcile/swarm/secrets.js';
import { judgeRollout, taskFailure, type Verdict } from '../../../../src/reconcile/swarm/watch.js';
import type { TaskSummary } from '../../../../src/runtime/services.js';
import { NOW, registryApp, secret, serviceOf, specOf, task } from './fixtures.js';

const app = registryApp('v2');
const spec = specOf(app);
const old = specOf(registryApp('v1'));
const nodes = [{ id: 'n1', addr: '10.0.0.1' }];
const watchOf = (until: WatchAction['until'], follow = false): WatchAction => ({
  type: 'watch',
  spec,
  until,
  deadlineMs: 60_000,
  follow,
  reason: 'test',
});
const context = { app, since: NOW, deadline: NOW + 60_000, routed: [] as string[] };
const oldTasks = [task(old, 1), task(old, 2)];
/** What the verdict does, in short: its action types, and how it ends. */
const summary = (verdict: Verdict) => [verdict.actions.map((a) => a.type), verdict.end?.kind ?? 'waiting'];

describe('judging a rollout as it runs (judgeRollout)', () => {
  it('a created service: waits while tasks start, routing the proxy to them, and is done once the replicas run', () => {
    const starting = [task(spec, 1, 'starting'), task(spec, 2, 'starting')];
    const waiting = judgeRollout(watchOf('running', true), { tasks: starting, nodes, now: NOW }, context);
    assert.deepEqual(summary(waiting), [['route'], 'waiting']);
    const [route] = waiting.actions;
    assert.deepEqual(route?.type === 'route' && route.endpoints, ['10.0.0.1:30001', '10.0.0.1:30002']);

    const done = judgeRollout(
      watchOf('running', true),
      { tasks: [task(spec, 1), task(spec, 2)], nodes, now: NOW },
      context,
    );
    assert.deepEqual(summary(done), [[], 'done'], 'the route once it ends is the follow action');
    assert.equal(done.end?.kind === 'done' && done.end.message, '2 of 2 task(s) running and healthy');
  });

  it('a created service past the deadline fails with the failing task, and nothing is rolled back (there is nothing to go back to)', () => {
    const failed: TaskSummary = { ...task(spec, 2, 'failed'), error: 'unhealthy container' };
    const verdict = judgeRollout(
      watchOf('running'),
      { tasks: [task(spec, 1), failed], nodes, now: NOW + 60_001 },
      context,
    );
    assert.deepEqual(summary(verdict), [[], 'failed']);
    assert.deepEqual(verdict.end?.kind === 'failed' && [verdict.end.reason, verdict.end.rolledBack], [
      '1 of 2 task(s) running after deploy.progressDeadline; task dokku_web.2: unhealthy container',
      false,
    ]);
  });

  it('an update: a completed status from before it is not its end; its own is', () => {
    const before = serviceOf(spec, { state: 'completed', message: '', startedAt: NOW - 60_000 });
    assert.deepEqual(
      summary(judgeRollout(watchOf('updated'), { service: before, tasks: oldTasks, nodes, now: NOW + 200 }, context)),
      [[], 'waiting'],
    );
    const ours = serviceOf(spec, { state: 'completed', message: 'update completed', startedAt: NOW + 100 });
    const done = judgeRollout(watchOf('updated'), { service: ours, tasks: [], nodes, now: NOW + 200 }, context);
    assert.deepEqual(summary(done), [[], 'done']);
    assert.equal(
      done.end?.kind === 'done' && done.end.message,
      'Swarm completed the update: every new task passed its checks',
    );
  });

  it('an update Swarm rolls back (or pauses) fails as rolled back, with what Swarm said', () => {
    for (const [state, word] of [
      ['rollback_started', 'rolled back'],
      ['rollback_completed', 'rolled back'],
      ['paused', 'paused'],
    ] as const) {
      const service = serviceOf(spec, { state, message: 'update rolled back due to failure', startedAt: NOW + 100 });
      const verdict = judgeRollout(
        watchOf('updated', true),
        { service, tasks: oldTasks, nodes, now: NOW + 500 },
        context,
      );
      assert.deepEqual(summary(verdict), [[], 'failed'], state);
      assert.deepEqual(verdict.end?.kind === 'failed' && [verdict.end.reason, verdict.end.rolledBack], [
        `Swarm ${word} the update: update rolled back due to failure`,
        true,
      ]);
    }
  });

  it('an update past the deadline: the verdict is a rollback action, which ends it as failed', () => {
    const service = serviceOf(spec, { state: 'updating', message: '', startedAt: NOW + 100 });
    const verdict = judgeRollout(watchOf('updated'), { service, tasks: oldTasks, nodes, now: NOW + 60_001 }, context);
    assert.deepEqual(summary(verdict), [['rollback'], 'waiting']);
    const [rollback] = verdict.actions;
    assert.deepEqual(rollback?.type === 'rollback' && [rollback.id, rollback.version, rollback.failure], [
      service.id,
      service.version,
      'the update did not complete within deploy.progressDeadline; berth asked Swarm to roll it back',
    ]);
  });

  it('a rollback berth asked for (deploy.monitor): follows the tasks it starts, done once Swarm completed it; paused or past the deadline it ends as failed', () => {
    const back = (state: 'rollback_started' | 'rollback_completed' | 'rollback_paused', startedAt = NOW + 100) =>
      serviceOf(old, { state, message: state === 'rollback_paused' ? 'rollback paused: task failed' : '', startedAt });
    const starting = [task(spec, 1), task(old, 2, 'starting')];
    const look = (state: Parameters<typeof back>[0], now = NOW + 500, startedAt?: number) =>
      judgeRollout(
        watchOf('rolledBack', true),
        { service: back(state, startedAt), tasks: starting, nodes, now },
        context,
      );
    assert.deepEqual(summary(look('rollback_started')), [['route'], 'waiting']);
    assert.deepEqual(summary(look('rollback_completed')), [[], 'done']);
    assert.deepEqual(
      summary(look('rollback_completed', NOW + 500, NOW - 60_000)),
      [['route'], 'waiting'],
      'an earlier rollback is not this one',
    );
    const paused = look('rollback_paused').end;
    assert.deepEqual(paused?.kind === 'failed' && [paused.reason, paused.rolledBack], [
      'Swarm paused the rollback: rollback paused: task failed',
      true,
    ]);
    assert.deepEqual(summary(look('rollback_started', NOW + 60_001)), [['route'], 'failed']);
  });

  it('any watch ends, superseded, once the manifest changed: the next pass plans from it', () => {
    for (const until of ['running', 'updated', 'rolledBack'] as const) {
      const service = serviceOf(spec, { state: 'updating', message: '', startedAt: NOW + 100 });
      const verdict = judgeRollout(
        watchOf(until, true),
        { service, tasks: [task(spec, 1, 'starting')], nodes, now: NOW + 500, superseded: true },
        context,
      );
      assert.deepEqual(summary(verdict), [[], 'superseded'], until);
    }
  });

  it('an update whose service went away fails, not as a rollback', () => {
    const verdict = judgeRollout(watchOf('updated'), { tasks: [], nodes, now: NOW + 200 }, context);
    assert.deepEqual(verdict.end, {
      kind: 'failed',
      reason: 'service dokku_web disappeared during the update',
      rolledBack: false,
    });
  });

  it("names the failing task Swarm's message names once its error is set, and waits for it until then", () => {
    const id = 'abcdefghijklmnopqrstuvwxy';
    const message = `update rolled back due to failure or early termination of task ${id}`;
    const starting: TaskSummary = { ...task(spec, 3, 'starting'), id };
    assert.equal(taskFailure([starting], spec, message), undefined);
    assert.equal(
      taskFailure([{ ...starting, state: 'failed', error: 'unhealthy container' }], spec, message),
      '; task dokku_web.3: unhealthy container',
    );
    assert.equal(
      taskFailure([{ ...starting, state: 'complete', message: 'finished' }], spec, message),
      '; task dokku_web.3 ended (complete: finished) without passing its checks',
    );
  });
});

describe('the proxy following the tasks (followRoutes)', () => {
  it('routes to running and starting tasks while rolling, to running ones after, and not again to what it routed', () => {
    const tasks = [task(old, 1), task(spec, 2, 'starting')];
    const rolling = followRoutes(app, tasks, nodes, { starting: true });
    assert.deepEqual(rolling?.endpoints, ['10.0.0.1:30001', '10.0.0.1:30002']);
    assert.equal(followRoutes(app, tasks, nodes, { starting: true }, rolling?.endpoints), undefined);
    assert.deepEqual(followRoutes(app, tasks, nodes, { starting: false }, rolling?.endpoints)?.endpoints, [
      '10.0.0.1:30001',
    ]);
    assert.equal(followRoutes(app, [], nodes, { starting: false }), undefined, 'never a route to nothing');
  });
});

describe("the app's unused Docker secrets (unusedSecrets)", () => {
  it('keeps what the spec and the previous spec mount, and removes every one once the service is gone', () => {
    const service = { ...serviceOf(spec), secretNames: ['b', 'c'] };
    const secrets = ['a', 'b', 'c'].map(secret);
    assert.deepEqual(
      unusedSecrets(secrets, service).map((r) => r.name),
      ['a'],
    );
    assert.deepEqual(
      unusedSecrets(secrets, undefined).map((r) => [r.type, r.id]),
      [
        ['removeSecret', 'id-a'],
        ['removeSecret', 'id-b'],
        ['removeSecret', 'id-c'],
      ],
    );
  });
});
