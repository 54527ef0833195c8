import { strict as assert } from 'node:assert';
import { appStatus, appStatuses, engineOutage } from '../../../src/status/app-status.js';
import type { AppRecord } from '../../../src/state/types.js';
import { containerOf, testApp } from '../../support/apps.js';

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
