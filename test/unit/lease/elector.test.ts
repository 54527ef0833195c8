import { strict as assert } from 'node:assert';
import { LeaseElector } from '../../../src/lease/elector.js';
import { LeaseConflictError, NameConflictError, RuntimeError } from '../../../src/runtime/errors.js';
import type { LeaseFields, LeaseRecord, LeaseStore } from '../../../src/runtime/lease.js';
import type { NewEvent } from '../../../src/events/types.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
import { FakeClock } from '../../support/fake-clock.js';

/** The swarm's config, shared by the replicas: a write at a stale version is refused, as Swarm does. */
class SharedLease implements LeaseStore {
  record: LeaseRecord | undefined;
  writes = 0;
  async read() {
    return this.record ? { ...this.record } : undefined;
  }
  async create(fields: LeaseFields) {
    if (this.record) throw new NameConflictError('createLease', 'exists');
    this.record = { ...fields, version: 1 };
    this.writes++;
  }
  async update(version: number, fields: LeaseFields) {
    if (!this.record || this.record.version !== version) throw new LeaseConflictError('renewLease', 'out of sequence');
    this.record = { ...fields, version: version + 1 };
    this.writes++;
  }
}

function replica(id: string, store: LeaseStore, mono: { now: number }, events: NewEvent[] = []) {
  return new LeaseElector({
    store,
    clock: new FakeClock(),
    monotonic: () => mono.now,
    logger: silentLogger(),
    identity: { id, name: `host/${id}` },
    durationMs: 6_000,
    events: { emit: (e) => events.push(e) },
  });
}

describe('the elector (LeaseElector) over a shared lease', () => {
  it('lets exactly one of two replicas lead; the standby takes over once the leader stops renewing for a duration', async () => {
    const store = new SharedLease();
    const mono = { now: 0 };
    const eventsA: NewEvent[] = [];
    const eventsB: NewEvent[] = [];
    const a = replica('a', store, mono, eventsA);
    const b = replica('b', store, mono, eventsB);
    await a.look();
    await b.look();
    assert.deepEqual([a.leading(), b.leading()], [true, false]);
    assert.equal(eventsA.length, 0, 'making the lease is no news: a berth alone says nothing');
    // a renews every look: b never finds it expired.
    for (let t = 1_000; t <= 20_000; t += 1_000) {
      mono.now = t;
      await a.look();
      await b.look();
    }
    assert.deepEqual([a.leading(), b.leading()], [true, false]);
    // a stops (frozen): b watches the lease unchanged for 6 s, then takes it.
    const frozenAt = mono.now;
    for (let t = frozenAt + 1_000; t < frozenAt + 6_000; t += 1_000) {
      mono.now = t;
      await b.look();
      assert.equal(b.leading(), false, `not before a duration (${t - frozenAt} ms)`);
    }
    assert.equal(a.leading(), false, 'a frozen leader is past its renew deadline before a standby can take over');
    mono.now = frozenAt + 6_000;
    await b.look();
    assert.equal(b.leading(), true);
    assert.equal(store.record?.transitions, 1);
    assert.deepEqual(
      eventsB.map((e) => e.type),
      ['lease.acquired'],
      'a takeover is news',
    );
    // a wakes: its renew at the old version is refused; it is standby and says so.
    await a.look();
    assert.deepEqual([a.leading(), b.leading()], [false, true]);
    assert.deepEqual(
      eventsA.map((e) => e.type),
      ['lease.lost'],
    );
  });

  it('a leader whose renew is refused (another wrote first) stops leading at once', async () => {
    const store = new SharedLease();
    const mono = { now: 0 };
    const a = replica('a', store, mono);
    await a.look();
    assert.equal(a.leading(), true);
    // Someone else's write moves the version between a's read and its write.
    const realRead = store.read.bind(store);
    store.read = async () => {
      const seen = await realRead();
      store.record = { ...store.record!, holder: 'c', version: store.record!.version + 1 };
      return seen;
    };
    mono.now = 1_000;
    await a.look();
    assert.equal(a.leading(), false);
  });

  it('a berth alone, restarted on its state dir, takes its lease back at once and says nothing', async () => {
    const store = new SharedLease();
    const mono = { now: 0 };
    const events: NewEvent[] = [];
    const first = replica('a', store, mono, events);
    await first.look();
    mono.now = 2_000;
    const restarted = replica('a', store, mono, events);
    await restarted.look();
    assert.equal(restarted.leading(), true);
    await restarted.stop();
    const again = replica('a', store, mono, events);
    await again.look();
    assert.equal(again.leading(), true, 'a released lease taken back at once');
    assert.deepEqual(events, []);
  });

  it('a replica that loses the race to make the lease reads it at once: it names the holder', async () => {
    const store = new SharedLease();
    const mono = { now: 0 };
    const a = replica('a', store, mono);
    await a.look();
    // b read before a made it: its first read is stale, its create meets a name conflict.
    let stale = true;
    const racing: LeaseStore = {
      read: async () => (stale ? ((stale = false), undefined) : store.read()),
      create: (fields) => store.create(fields),
      update: (version, fields) => store.update(version, fields),
    };
    const b = replica('b', racing, mono);
    await b.look();
    assert.deepEqual([b.leading(), b.view().holder, store.writes], [false, 'host/a', 1]);
  });

  it('hands the lease back at stop, so a standby takes it at its next look', async () => {
    const store = new SharedLease();
    const mono = { now: 0 };
    const a = replica('a', store, mono);
    const b = replica('b', store, mono);
    await a.look();
    await b.look();
    await a.stop();
    assert.equal(store.record?.holder, '');
    mono.now = 500;
    await b.look();
    assert.equal(b.leading(), true);
  });

  it('confirm(): a leader resumed after a takeover (its monotonic clock paused with its VM) reads the lease back and stops acting', async () => {
    const store = new SharedLease();
    const mono = { now: 0 };
    const eventsA: NewEvent[] = [];
    const a = replica('a', store, mono, eventsA);
    await a.look();
    assert.equal(await a.confirm(), true, 'the lease as written by a');
    // Paused: a's clock stands still while b takes the lease in the swarm.
    store.record = { ...store.record!, holder: 'b', holderName: 'host/b', version: store.record!.version + 1 };
    assert.equal(a.leading(), true, 'by its own clock a would still act');
    assert.equal(await a.confirm(), false, 'the read-back tells it');
    assert.equal(a.leading(), false, 'and it stops acting until it renews');
    assert.deepEqual(
      eventsA.map((e) => e.type),
      ['lease.lost'],
    );
  });

  it('a renew deadline missed with nobody else holding the lease is no news, and the lease is taken back', async () => {
    const store = new SharedLease();
    const mono = { now: 0 };
    const events: NewEvent[] = [];
    const a = replica('a', store, mono, events);
    await a.look();
    const realRead = store.read.bind(store);
    store.read = async () => {
      throw new RuntimeError('readLease', 'the manager is electing its raft leader');
    };
    mono.now = 5_000;
    await a.look();
    assert.equal(a.leading(), false, 'past its renew deadline');
    store.read = realRead;
    mono.now = 6_000;
    await a.look();
    assert.equal(a.leading(), true);
    assert.deepEqual(events, [], 'neither lost nor acquired: the lease never changed hands');
  });

  it('a lease of its id under another name (a copied state dir) is judged as another holder, never renewed as its own', async () => {
    const store = new SharedLease();
    const mono = { now: 0 };
    const original = replica('a', store, mono);
    await original.look();
    const copy = new LeaseElector({
      store,
      clock: new FakeClock(),
      monotonic: () => mono.now,
      logger: silentLogger(),
      identity: { id: 'a', name: 'other-host/a' },
      durationMs: 6_000,
    });
    for (let t = 1_000; t <= 10_000; t += 1_000) {
      mono.now = t;
      await original.look();
      await copy.look();
      assert.deepEqual([original.leading(), copy.leading()], [true, false], `at ${t} ms`);
    }
  });
});
