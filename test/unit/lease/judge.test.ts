import { strict as assert } from 'node:assert';
import { judgeLease, leaseTiming, mayAct, type LeaseMemory } from '../../../src/lease/judge.js';
import type { LeaseRecord } from '../../../src/runtime/lease.js';

const lease = (holder: string, version: number, renewed = `r${version}`): LeaseRecord => ({
  holder,
  holderName: holder ? `host/${holder}` : '',
  renewed,
  durationSeconds: 6,
  transitions: 1,
  version,
});

describe('the lease judged (judgeLease), on this replica’s monotonic clock only', () => {
  const cases: {
    name: string;
    lease: LeaseRecord | undefined;
    memory: LeaseMemory;
    nowMs: number;
    decision: string;
  }[] = [
    { name: 'no lease in the swarm: make it', lease: undefined, memory: {}, nowMs: 0, decision: 'create' },
    { name: 'its own lease: renew it', lease: lease('me', 5), memory: {}, nowMs: 0, decision: 'renew@5' },
    {
      name: 'its own lease after a restart on the same state dir (nothing remembered): take it back at once',
      lease: lease('me', 9),
      memory: {},
      nowMs: 123_456,
      decision: 'renew@9',
    },
    { name: 'a released lease: take it', lease: lease('', 7), memory: {}, nowMs: 0, decision: 'acquire@7' },
    {
      name: 'another’s lease first seen now: standby, however old its renew label says it is',
      lease: lease('other', 3, '1970-01-01T00:00:00Z'),
      memory: {},
      nowMs: 50_000,
      decision: 'standby:6000',
    },
    {
      name: 'another’s lease seen unchanged for less than its duration: standby',
      lease: lease('other', 3),
      memory: { seen: { key: 'other\nr3\n3', sinceMs: 10_000 } },
      nowMs: 15_999,
      decision: 'standby:1',
    },
    {
      name: 'another’s lease seen unchanged for its whole duration: take it',
      lease: lease('other', 3),
      memory: { seen: { key: 'other\nr3\n3', sinceMs: 10_000 } },
      nowMs: 16_000,
      decision: 'acquire@3',
    },
    {
      name: 'another’s lease renewed since (new version): the watch starts again',
      lease: lease('other', 4),
      memory: { seen: { key: 'other\nr3\n3', sinceMs: 10_000 } },
      nowMs: 60_000,
      decision: 'standby:6000',
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const { decision } = judgeLease({
        me: 'me',
        lease: c.lease,
        memory: c.memory,
        nowMs: c.nowMs,
        durationMs: 15_000,
      });
      const said =
        decision.kind === 'create'
          ? 'create'
          : decision.kind === 'standby'
            ? `standby:${decision.expiresInMs}`
            : `${decision.kind}@${decision.version}`;
      assert.equal(said, c.decision);
    });

  it('uses its own duration when the lease names none', () => {
    const seen = { key: 'other\nr3\n3', sinceMs: 0 };
    const unnamed = { ...lease('other', 3), durationSeconds: 0 };
    const at = (nowMs: number) =>
      judgeLease({ me: 'me', lease: unnamed, memory: { seen }, nowMs, durationMs: 15_000 }).decision.kind;
    assert.deepEqual([at(14_999), at(15_000)], ['standby', 'acquire']);
  });
});

describe('whether a leader may act (mayAct) and the timing of a lease (leaseTiming)', () => {
  it('acts only strictly within the renew deadline from when the last successful renew was sent', () => {
    const { renewDeadlineMs, retryMs } = leaseTiming(6_000);
    assert.deepEqual([renewDeadlineMs, retryMs], [4_000, 1_200]);
    assert.equal(mayAct(undefined, 0, renewDeadlineMs), false, 'never renewed: standby');
    assert.equal(mayAct(10_000, 13_999, renewDeadlineMs), true);
    assert.equal(
      mayAct(10_000, 14_000, renewDeadlineMs),
      false,
      'a frozen leader wakes past its deadline: not leading',
    );
  });

  it('stops acting before any standby could take the lease (deadline < duration)', () => {
    for (const duration of [2_000, 6_000, 15_000, 3_600_000]) {
      const { renewDeadlineMs, retryMs } = leaseTiming(duration);
      assert.ok(renewDeadlineMs < duration && retryMs < renewDeadlineMs, `${duration}`);
    }
  });
});
