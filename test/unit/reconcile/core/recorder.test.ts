import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewEvent } from '../../../../src/events/types.js';
import type { Desired } from '../../../../src/reconcile/docker/actions.js';
import { Reconciler } from '../../../../src/reconcile/docker/reconciler.js';
import { Recorder } from '../../../../src/reconcile/core/recorder.js';
import { directTraffic } from '../../../../src/proxy/direct.js';
import { StateStore } from '../../../../src/state/store.js';
import { silentLogger } from '../../../../src/util/silent-logger.js';
import { testApp } from '../../../support/apps.js';
import { FakeClock } from '../../../support/fake-clock.js';
import { FakeRuntime } from '../../../support/fake-runtime.js';

describe('Recorder: what a deploy says (events, history)', () => {
  let stateDir: string;
  let clock: FakeClock;
  let state: StateStore;
  let said: NewEvent[];
  const events = { emit: (event: NewEvent) => void said.push(event) };

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'berth-recorder-'));
    clock = new FakeClock();
    state = await StateStore.open(stateDir, 'dokku');
    said = [];
  });
  afterEach(async () => {
    await state.flush();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('a failing post-deploy command is a postdeploy.failed event beside deploy.succeeded: the command, reason, exit code and output, env values redacted', async () => {
    const runtime = new FakeRuntime(clock);
    runtime.addImage('dokku/web:v1');
    const app = testApp('web', {
      tag: 'v1',
      env: { DB_PASSWORD: 'pw-Kq93-secret' },
      checks: { wait: 0 },
      postDeploy: { command: ['/notify', 'deployed'], timeout: 5 },
    });
    runtime.execAnswer = (_id, command) =>
      command[0] === '/notify'
        ? { outcome: 'exited', exitCode: 3, output: 'warming caches\nnotify failed for pw-Kq93-secret\n' }
        : { outcome: 'exited', exitCode: 0, output: '' };
    const desired: Desired = { kind: 'present', app };
    const reconciler = new Reconciler(
      { runtime, clock, logger: silentLogger(), state, traffic: directTraffic, desired: () => desired, events },
      { namespace: 'dokku', proxy: false, stopTimeoutSeconds: 1, keepRevisions: 2 },
    );
    assert.equal((await reconciler.reconcile('web', new AbortController().signal)).phase, 'Running');

    assert.deepEqual(
      said.map((e) => e.type),
      ['deploy.started', 'deploy.succeeded', 'postdeploy.failed'],
    );
    const failed = said[2]!;
    assert.equal(failed.app, 'web');
    assert.equal(
      failed.message,
      'dokku/web:v1: the post-deploy command exited with code 3: notify failed for <redacted>; the deploy stands',
    );
    const { revision, ...details } = failed.details ?? {};
    assert.equal(revision, said[1]?.details?.revision, 'the revision that was deployed');
    assert.deepEqual(details, {
      image: 'dokku/web',
      tag: 'v1',
      command: ['/notify', 'deployed'],
      reason: 'exited with code 3: notify failed for <redacted>',
      exitCode: 3,
      output: 'warming caches\nnotify failed for <redacted>',
    });
    assert.equal(
      state.get('web')?.history[0]?.postDeploy,
      'failed: exited with code 3: notify failed for <redacted>',
      'history says it as before',
    );
  });

  it('a post-deploy command that succeeds says nothing more than deploy.succeeded', async () => {
    const runtime = new FakeRuntime(clock);
    runtime.addImage('dokku/web:v1');
    const app = testApp('web', { tag: 'v1', checks: { wait: 0 }, postDeploy: { command: ['/notify'], timeout: 5 } });
    const reconciler = new Reconciler(
      {
        runtime,
        clock,
        logger: silentLogger(),
        state,
        traffic: directTraffic,
        desired: () => ({ kind: 'present', app }),
        events,
      },
      { namespace: 'dokku', proxy: false, stopTimeoutSeconds: 1, keepRevisions: 2 },
    );
    await reconciler.reconcile('web', new AbortController().signal);
    assert.deepEqual(
      said.map((e) => e.type),
      ['deploy.started', 'deploy.succeeded'],
    );
  });

  it('a rollback is `rolled_back` in history (the spelling programs read), deploy.rolled_back in events', () => {
    const recorder = new Recorder({ state, clock, events });
    const app = testApp('web', { tag: 'v2' });
    state.update('web', { phase: 'Running', message: 'ok' }, clock.now());
    state.appendHistory('web', {
      at: clock.now(),
      tag: 'v2',
      image: 'dokku/web',
      imageId: 'sha256:b',
      revision: 'r2',
      outcome: 'succeeded',
      durationMs: 1,
    });
    recorder.ended(
      { name: 'web', desired: { kind: 'present', app } },
      { outcome: { phase: 'Degraded', message: 'rolled back' } },
      {
        kind: 'applied',
        executed: {
          tagged: [],
          untagged: [],
          endpoints: [],
          rolledBack: { from: 'r2', to: 'r1', reason: 'web.1 exited' },
        },
        durationMs: 1,
      },
    );
    assert.deepEqual(
      state.get('web')?.history.map((h) => `${h.tag} ${h.outcome}`),
      ['v2 rolled_back', 'v2 succeeded'],
    );
    assert.deepEqual(
      said.map((e) => [e.type, e.details]),
      [['deploy.rolled_back', { revision: 'r2', to: 'r1', reason: 'web.1 exited', image: 'dokku/web', tag: 'v2' }]],
    );
  });

  it('berth retry tells the events that the next attempt is news, though the revision failed before', () => {
    const retried: string[] = [];
    new Recorder({ state, clock, events: { ...events, retried: (app) => void retried.push(app) } }).release('web');
    assert.deepEqual(retried, ['web']);
  });

  it('reads a state file an older berth wrote, whose rolled-back deploys say `rolled back`, in the one spelling', async () => {
    const file = join(stateDir, 'old', 'state.json');
    const old = { tag: 'v2', image: 'dokku/web', imageId: 'sha256:b', revision: 'r2', durationMs: 1 };
    await (await StateStore.open(stateDir, 'old')).flush();
    await writeFile(
      file,
      JSON.stringify({
        apps: {
          web: {
            phase: 'Degraded',
            message: 'rolled back: web.1 exited',
            since: 1,
            history: [
              { ...old, at: 2, outcome: 'rolled back', reason: 'web.1 exited' },
              { ...old, at: 1, outcome: 'succeeded' },
            ],
          },
        },
      }),
    );
    for (const store of [await StateStore.read(stateDir, 'old'), await StateStore.open(stateDir, 'old')]) {
      assert.deepEqual(
        store.get('web')?.history.map((h) => h.outcome),
        ['rolled_back', 'succeeded'],
      );
    }
    const migrated = await StateStore.open(stateDir, 'old');
    migrated.update('web', { message: 'rolled back: web.1 exited (seen again)' }, 3);
    await migrated.flush();
    assert.doesNotMatch(await readFile(file, 'utf8'), /"rolled back"/, 'written back in the new spelling');
  });
});
