import { strict as assert } from 'node:assert';
import { judgeApp, rolledBackByBerth } from '../../../src/images/judge-app.js';
import type { ImagePolicy } from '../../../src/manifest/types.js';
import type { DeployRecord, ImagePolicyRecord } from '../../../src/state/types.js';

/** One app's policy judged on one look: a person's rollback is never fought. */
describe('judging an app on a look at its repository (judgeApp)', () => {
  const policy: ImagePolicy = { semver: '^1', interval: 300, minAge: 0 };
  const now = 10_000_000;
  const seen = (...tags: string[]) => Object.fromEntries(tags.map((t) => [t, now - 60_000]));
  const look = (tag: string, candidates: string[], previous?: ImagePolicyRecord, history: DeployRecord[] = []) =>
    judgeApp({
      policy,
      tag,
      candidates,
      firstSeen: seen(...candidates),
      history,
      now,
      ...(previous ? { previous } : {}),
    });
  const deploy = (tag: string, outcome: DeployRecord['outcome']): DeployRecord => ({
    at: now,
    tag,
    image: 'web',
    imageId: 'sha256:1',
    revision: 'r',
    outcome,
    durationMs: 1,
  });

  it('adopts the newest tag of the range on a first look, and records the manifest tag it saw', () => {
    const { decision, record } = look('1.0.0', ['1.0.0', '1.1.0', '1.2.0-rc.1', '2.0.0']);
    assert.deepEqual(decision, { kind: 'adopt', tag: '1.1.0', newest: '1.1.0' });
    assert.equal(record.tag, '1.0.0');
    assert.equal(record.policy, 'semver ^1');
    assert.equal(record.floor, undefined);
  });

  it('a person moving the tag back sets the floor at the newest tag seen: nothing seen is adopted again', () => {
    const previous: ImagePolicyRecord = { policy: 'semver ^1', tag: '1.1.1' };
    const judged = look('1.0.0', ['1.0.0', '1.1.0', '1.1.1'], previous);
    assert.equal(judged.rolledBackFrom, '1.1.1');
    assert.equal(judged.record.floor, '1.1.1');
    assert.equal(judged.decision.kind, 'wait');
    // A tag newer than the floor is adopted.
    const later = look('1.0.0', ['1.0.0', '1.1.0', '1.1.1', '1.1.2'], judged.record);
    assert.deepEqual(later.decision, { kind: 'adopt', tag: '1.1.2', newest: '1.1.2' });
    assert.equal(later.rolledBackFrom, undefined, 'the same manifest tag is no new rollback');
  });

  it('the floor counts tags seen but never deployed: a rollback from 1.1.0 while 1.1.1 was known waits past 1.1.1', () => {
    const judged = look('1.0.0', ['1.0.0', '1.1.0', '1.1.1'], { policy: 'semver ^1', tag: '1.1.0' });
    assert.equal(judged.record.floor, '1.1.1');
    assert.equal(judged.decision.kind, 'wait');
  });

  it('forgets the floor once the manifest is at or past it (a person moved it forward again)', () => {
    const previous: ImagePolicyRecord = { policy: 'semver ^1', tag: '1.0.0', floor: '1.1.1' };
    const judged = look('1.1.1', ['1.0.0', '1.1.0', '1.1.1'], previous);
    assert.equal(judged.record.floor, undefined);
    assert.equal(judged.rolledBackFrom, undefined);
  });

  it("berth's own write that has not reached the manifest yet is no rollback (the record holds the manifest's tag)", () => {
    const previous: ImagePolicyRecord = {
      policy: 'semver ^1',
      tag: '1.0.0',
      written: { from: '1.0.0', to: '1.1.0', at: now - 1000 },
    };
    const judged = look('1.0.0', ['1.0.0', '1.1.0'], previous);
    assert.equal(judged.rolledBackFrom, undefined);
    assert.deepEqual(judged.decision, { kind: 'adopt', tag: '1.1.0', newest: '1.1.0' });
    assert.deepEqual(judged.record.written, previous.written, 'the last write is kept');
  });

  it('never adopts a tag berth rolled back itself, until a newer one comes', () => {
    const history = [deploy('1.0.0', 'succeeded'), deploy('1.1.0', 'rolled_back')];
    const judged = look('1.0.0', ['1.0.0', '1.1.0'], undefined, history);
    assert.equal(judged.decision.kind, 'wait');
    assert.deepEqual(look('1.0.0', ['1.0.0', '1.1.0', '1.1.1'], undefined, history).decision, {
      kind: 'adopt',
      tag: '1.1.1',
      newest: '1.1.1',
    });
  });

  it('counts a tag refused only while its last deploy did not succeed', () => {
    assert.deepEqual(
      [...rolledBackByBerth([deploy('1.1.0', 'succeeded'), deploy('1.1.0', 'failed'), deploy('1.2.0', 'failed')])],
      ['1.2.0'],
    );
  });
});
