import { strict as assert } from 'node:assert';
import type { MonitorAction } from '../../../../src/reconcile/swarm/actions.js';
import { desiredChange } from '../../../../src/reconcile/swarm/desired-change.js';
import { judgeMonitor, type MonitorSighting } from '../../../../src/reconcile/swarm/monitor.js';
import type { TaskSummary } from '../../../../src/runtime/services.js';
import { NOW, registryApp, revisionOf, serviceOf, specOf, task } from './fixtures.js';

const v1 = registryApp('v1');
const v2 = registryApp('v2');
const spec1 = specOf(v1);
const spec2 = specOf(v2);
const ROLLOUT = NOW - 10_000;
const monitor = (follow = false): MonitorAction => ({
  type: 'monitor',
  id: 'svc1234567890abcdef',
  spec: spec2,
  since: NOW,
  rolloutSince: ROLLOUT,
  windowMs: 30_000,
  lookUntil: NOW + 20_000,
  from: revisionOf(v2),
  to: revisionOf(v1),
  deadlineMs: 600_000,
  follow,
  reason: 'test',
});
const completed = serviceOf(
  spec2,
  { state: 'completed', message: 'update completed', startedAt: ROLLOUT, completedAt: NOW },
  spec1,
);
const newTask = (slot: number, state: TaskSummary['state'] = 'running', extra: Partial<TaskSummary> = {}) => ({
  ...task(spec2, slot, state),
  createdAt: ROLLOUT + 1_000,
  ...extra,
});
const sighting = (tasks: TaskSummary[], extra: Partial<MonitorSighting> = {}): MonitorSighting => ({
  service: completed,
  tasks,
  now: NOW + 5_000,
  superseded: false,
  ...extra,
});
/** The verdict in short: its action types, and how it ends. */
const summary = (s: MonitorSighting, action = monitor()) => {
  const verdict = judgeMonitor(action, s);
  return [verdict.actions.map((a) => a.type), verdict.end?.kind ?? 'looking'];
};

describe('judging the new tasks within deploy.monitor (judgeMonitor)', () => {
  const healthy = [newTask(1), newTask(2)];
  const cases: [string, MonitorSighting, unknown[]][] = [
    ['running tasks within the window: look again', sighting(healthy), [[], 'looking']],
    [
      "this pass's slice of the window passed: the next pass looks on",
      sighting(healthy, { now: NOW + 20_000 }),
      [[], 'later'],
    ],
    ['the window passed with every task running: done', sighting(healthy, { now: NOW + 30_000 }), [[], 'done']],
    [
      'a task that exited with an error (Swarm starts another for its slot): roll back, watch the rollback',
      sighting([
        newTask(1, 'failed', { error: 'task: non-zero exit (1)', desiredState: 'shutdown' }),
        newTask(1, 'starting'),
        newTask(2),
      ]),
      [['revert', 'watch'], 'rolledBack'],
    ],
    [
      'a task that exited 0 on its own (complete)',
      sighting([newTask(1, 'complete', { desiredState: 'shutdown' }), newTask(2)]),
      [['revert', 'watch'], 'rolledBack'],
    ],
    [
      'a task Swarm stopped as unhealthy',
      sighting([
        newTask(1, 'shutdown', {
          error: 'task: non-zero exit (137): dockerexec: unhealthy container',
          desiredState: 'shutdown',
        }),
        newTask(2),
      ]),
      [['revert', 'watch'], 'rolledBack'],
    ],
    [
      'a task Swarm shut down itself (scaled away, its node drained) is no failure of the revision',
      sighting([newTask(1, 'shutdown', { desiredState: 'shutdown' }), newTask(2)]),
      [[], 'looking'],
    ],
    [
      'a failed task of the same spec from before this rollout (an earlier attempt) is not this revision failing',
      sighting([{ ...task(spec2, 1, 'failed'), createdAt: ROLLOUT - 60_000, error: 'old' }, ...healthy]),
      [[], 'looking'],
    ],
    [
      'a failed task of another image (the same spec hash, the tag moved) is not this revision failing',
      sighting([newTask(1, 'failed', { error: 'x', image: 'other@sha256:1' }), ...healthy]),
      [[], 'looking'],
    ],
    [
      'the manifest changed: the watch ends, whatever the tasks do',
      sighting([newTask(1, 'failed', { error: 'x' })], { superseded: true }),
      [[], 'superseded'],
    ],
    [
      'the service changed meanwhile (another update): the watch ends',
      sighting(healthy, {
        service: { ...completed, serviceHash: 'other', update: { state: 'updating', message: '' } },
      }),
      [[], 'superseded'],
    ],
    ['the service is gone: the watch ends', sighting(healthy, { service: undefined }), [[], 'superseded']],
  ];
  for (const [name, seen, expected] of cases)
    it(name, () => {
      assert.deepEqual(summary(seen), expected);
    });

  it('rolls back at the version Swarm reports now, to the previous revision, saying which task ended and why; behind a proxy the route follows', () => {
    const verdict = judgeMonitor(
      monitor(true),
      sighting([newTask(2, 'failed', { error: 'task: non-zero exit (1)' }), newTask(1)], {
        service: { ...completed, version: 12 },
      }),
    );
    assert.deepEqual(
      verdict.actions.map((a) => a.type),
      ['revert', 'watch', 'follow'],
    );
    const [revert, watch] = verdict.actions;
    assert.ok(revert?.type === 'revert' && watch?.type === 'watch');
    assert.deepEqual(
      [revert.version, revert.from, revert.to, revert.serviceHash],
      [12, revisionOf(v2), revisionOf(v1), spec2.labels['berth.service-hash']],
    );
    assert.equal(
      revert.reason,
      'task dokku_web.2 ended (failed: task: non-zero exit (1)) within deploy.monitor (30s) after Swarm completed the update',
    );
    assert.deepEqual([watch.until, watch.follow, watch.deadlineMs], ['rolledBack', true, 600_000]);
    assert.equal(verdict.end?.kind === 'rolledBack' && verdict.end.message, revert.reason);
  });
});

describe('whether the desired state changed since a pass planned (desiredChange)', () => {
  it('a re-read of the same manifest is no change; an edit, an invalid manifest or a deletion is', () => {
    const changed = desiredChange({ kind: 'present', app: v1 });
    assert.equal(changed({ kind: 'present', app: registryApp('v1') }), false, 'the same manifest read again');
    assert.equal(changed({ kind: 'present', app: v2 }), true);
    assert.equal(changed({ kind: 'present', app: v1, invalid: 'bad' }), true);
    assert.equal(changed({ kind: 'absent' }), true);
  });
});
