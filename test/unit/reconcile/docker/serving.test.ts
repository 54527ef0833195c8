import { strict as assert } from 'node:assert';
import { runningRevision, servingEndpoints } from '../../../../src/reconcile/docker/serving.js';
import { revisionKey } from '../../../../src/reconcile/core/revision.js';
import type { AppRecord } from '../../../../src/state/types.js';
import { containerOf, revisionOf, testApp } from '../../../support/apps.js';

const OLD = `sha256:${'a'.repeat(64)}`;
const NEW = `sha256:${'b'.repeat(64)}`;
const v1 = testApp('web', { tag: 'v1' });
const v2 = testApp('web', { tag: 'v2' });
const record = (patch: Partial<AppRecord>): AppRecord => ({
  phase: 'Running',
  message: '',
  since: 0,
  history: [],
  ...patch,
});

describe('what runs now (runningRevision), the one answer for plan, status and tags', () => {
  it('prefers the serving revision over a newer container that has not taken traffic', () => {
    const serving = containerOf(v1, OLD, { createdAt: 1 });
    const checking = containerOf(v2, NEW, { createdAt: 2 });
    const now = runningRevision(
      [checking, serving],
      record({ servingRevision: revisionKey(revisionOf(v1, OLD)), servingTag: 'v1' }),
    );
    assert.equal(now?.imageId, OLD);
    assert.equal(now?.serving, true);
    assert.equal(now?.tag, 'v1');
    assert.deepEqual(
      now?.containers.map((c) => c.id),
      [serving.id],
    );
  });

  it('falls back to the newest running revision, with no tag, when the serving one no longer runs or the record is lost', () => {
    const stopped = containerOf(v1, OLD, { createdAt: 1, state: 'exited' });
    const running = containerOf(v2, NEW, { createdAt: 2 });
    for (const lost of [record({ servingRevision: revisionKey(revisionOf(v1, OLD)), servingTag: 'v1' }), undefined]) {
      const now = runningRevision([stopped, running], lost);
      assert.equal(now?.imageId, NEW);
      assert.equal(now?.serving, false);
      assert.equal(now?.tag, undefined);
    }
  });

  it('matches a record that names only the serving image by image, and answers undefined when nothing runs', () => {
    const now = runningRevision([containerOf(v1, OLD)], record({ servingImageId: OLD, servingTag: 'v1' }));
    assert.equal(now?.tag, 'v1');
    assert.equal(runningRevision([containerOf(v1, OLD, { state: 'exited' })], undefined), undefined);
  });

  it("matches a Swarm service's task containers by spec when the record names the image by its registry digest", () => {
    const task = containerOf(v2, NEW);
    const digest = `sha256:${'c'.repeat(64)}`;
    const now = runningRevision([task], record({ servingRevision: `${task.specHash}@${digest}`, servingTag: 'v2' }));
    assert.equal(now?.serving, true);
    assert.equal(now?.tag, 'v2');
  });

  it('routes to the loopback port of each running container of the serving revision', () => {
    const key = revisionKey(revisionOf(v1, OLD));
    const published = (state: 'running' | 'exited', port: number) => ({
      ...containerOf(v1, OLD, { state }),
      ports: [{ container: 8080, protocol: 'tcp' as const, hostIp: '127.0.0.1', hostPort: port }],
    });
    assert.deepEqual(
      servingEndpoints(v1, key, [published('running', 32768), published('exited', 32769), containerOf(v2, NEW)]),
      ['127.0.0.1:32768'],
    );
  });
});
