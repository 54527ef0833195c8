import { strict as assert } from 'node:assert';
import type { Observation } from '../../../../src/reconcile/docker/actions.js';
import { revisionKey } from '../../../../src/reconcile/core/revision.js';
import { deployedRef, desiredShape, runningShape } from '../../../../src/reconcile/docker/shapes.js';
import type { ContainerDetail } from '../../../../src/runtime/types.js';
import type { AppRecord } from '../../../../src/state/types.js';
import { containerOf, revisionOf, testApp } from '../../../support/apps.js';

const ID = `sha256:${'a'.repeat(64)}`;
const app = testApp('web', { tag: 'v2', env: { API_KEY: 'k' }, replicas: 2 });
const record = (patch: Partial<AppRecord>): AppRecord => ({
  phase: 'Running',
  message: '',
  since: 0,
  history: [],
  ...patch,
});

describe('the two sides berth plan compares (shapes)', () => {
  it('the desired side is the manifest, with the image id once the image is on the host', () => {
    const observation = {
      desired: { kind: 'present', app },
      image: { kind: 'present', id: ID, repoDigests: [] },
    } as unknown as Observation;
    assert.deepEqual(desiredShape(observation), {
      image: { ref: 'dokku/web:v2', id: ID },
      env: { API_KEY: 'k' },
      ports: app.spec.ports,
      replicas: 2,
    });
    assert.equal(desiredShape({ desired: { kind: 'absent' } } as unknown as Observation), undefined);
  });

  it('the running side names the tag berth deployed the revision as, and counts its containers', () => {
    const key = revisionKey(revisionOf(app, ID));
    const containers = [containerOf(app, ID), containerOf(app, ID, { replica: 1 })];
    const detail: ContainerDetail = {
      ...containers[0]!,
      startedAt: 0,
      restartCount: 0,
      exitCode: 0,
      error: '',
      env: { API_KEY: 'k', PATH: '/bin' },
      requestedPorts: app.spec.ports,
    };
    const deployed = record({
      history: [
        { at: 0, tag: 'v2', image: 'dokku/web', imageId: ID, revision: key, outcome: 'succeeded', durationMs: 1 },
      ],
    });
    const shape = runningShape(
      { revision: key, imageId: ID, containers, serving: true },
      detail,
      { id: ID, repoTags: ['dokku/web:v2'], repoDigests: [], createdAt: 0, size: 0, env: { PATH: '/bin' } },
      deployed,
    );
    assert.deepEqual(shape, {
      image: { ref: 'dokku/web:v2', id: ID },
      env: { API_KEY: 'k', PATH: '/bin' },
      imageEnv: { PATH: '/bin' },
      ports: app.spec.ports,
      replicas: 2,
    });
  });

  it('names a deployed revision from history, else the serving tag among the image tags, else nothing', () => {
    const history = [
      { at: 0, tag: 'v1', image: 'reg/web', imageId: ID, revision: 'r1', outcome: 'succeeded' as const, durationMs: 1 },
    ];
    assert.equal(deployedRef(record({ history }), 'r1', false, []), 'reg/web:v1');
    assert.equal(
      deployedRef(record({ servingTag: 'v3' }), 'r9', true, ['dokku/web:latest', 'dokku/web:v3']),
      'dokku/web:v3',
    );
    assert.equal(deployedRef(record({ servingTag: 'v3' }), 'r9', false, ['dokku/web:v3']), undefined);
    assert.equal(deployedRef(undefined, 'r9', true, ['dokku/web:v3']), undefined);
  });
});
