import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CanaryDecisions } from '../../../src/state/canary-decisions.js';
import { StateStore } from '../../../src/state/store.js';

describe('CanaryDecisions', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-decisions-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('hands a decision over once; the later of two requests wins', async () => {
    const decisions = new CanaryDecisions(dir, 'dokku');
    assert.equal(await decisions.take('web'), undefined);
    await decisions.request('web', 'promote');
    await decisions.request('web', 'abort');
    assert.equal(await decisions.take('web'), 'abort');
    assert.equal(await decisions.take('web'), undefined);
  });

  it('a file saying anything else decides nothing, and is consumed', async () => {
    const decisions = new CanaryDecisions(dir, 'dokku');
    await decisions.request('web', 'promote');
    await writeFile(join(StateStore.directory(dir, 'dokku'), 'canary-decision', 'web'), 'x'.repeat(100_000));
    assert.equal(await decisions.take('web'), undefined);
    assert.equal(await decisions.take('web'), undefined);
  });
});
