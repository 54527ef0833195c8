import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewEvent } from '../../../../src/events/types.js';
import type { Desired } from '../../../../src/reconcile/docker/actions.js';
import { Reconciler } from '../../../../src/reconcile/docker/reconciler.js';
import { directTraffic } from '../../../../src/proxy/direct.js';
import { StateStore } from '../../../../src/state/store.js';
import type { Commit } from '../../../../src/source/types.js';
import { silentLogger } from '../../../../src/util/silent-logger.js';
import { testApp } from '../../../support/apps.js';
import { FakeClock } from '../../../support/fake-clock.js';
import { FakeRuntime } from '../../../support/fake-runtime.js';

const commit = (sha: string, subject: string): Commit => ({
  sha: sha.repeat(40).slice(0, 40),
  subject,
  author: 'A',
  time: '2026-01-01T00:00:00Z',
});

describe('Recorder: the commit a deploy names', () => {
  it('is the one of the tree its plan was read from, with who last changed the file, though a newer tree came in meanwhile', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'berth-origin-'));
    const state = await StateStore.open(stateDir, 'dokku');
    try {
      const clock = new FakeClock();
      const runtime = new FakeRuntime(clock);
      runtime.addImage('dokku/web:v1');
      const said: NewEvent[] = [];
      const app = testApp('web', { tag: 'v1', checks: { wait: 0 } });
      const planned: Desired = {
        kind: 'present',
        app: { ...app, origin: { commit: commit('b', 'api to v2'), changedBy: commit('a', 'web to v1') } },
      };
      // Every look after the first sees the next tree (another app's commit): same spec, another origin.
      const newer: Desired = {
        kind: 'present',
        app: { ...app, origin: { commit: commit('c', 'api to v3'), changedBy: commit('a', 'web to v1') } },
      };
      let looks = 0;
      const reconciler = new Reconciler(
        {
          runtime,
          clock,
          logger: silentLogger(),
          state,
          traffic: directTraffic,
          desired: () => (looks++ === 0 ? planned : newer),
          events: { emit: (event) => void said.push(event) },
        },
        { namespace: 'dokku', proxy: false, stopTimeoutSeconds: 1, keepRevisions: 2 },
      );
      assert.equal((await reconciler.reconcile('web', new AbortController().signal)).phase, 'Running');
      const [deploy] = state.get('web')?.history ?? [];
      assert.deepEqual([deploy?.commit?.subject, deploy?.changedBy?.subject], ['api to v2', 'web to v1']);
      const succeeded = said.find((e) => e.type === 'deploy.succeeded');
      assert.deepEqual(
        [(succeeded!.details!.commit as Commit).subject, (succeeded!.details!.changedBy as Commit).subject],
        ['api to v2', 'web to v1'],
      );
      assert.match(
        succeeded?.message ?? '',
        / from bbbbbbb 'api to v2' \(its manifest last changed by aaaaaaa 'web to v1'\)( at |$)/,
      );
      assert.match(
        said.find((e) => e.type === 'deploy.started')?.message ?? '',
        /^deploying dokku\/web:v1 from bbbbbbb 'api to v2'/,
      );
    } finally {
      await state.flush();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
