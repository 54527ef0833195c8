import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { LiveFeed, MAX_UNREAD_BYTES } from '../../../src/http/live-feed.js';
import { FakeClock } from '../../support/fake-clock.js';

/** A response whose client reads nothing: whatever is written stays buffered. */
class StalledResponse extends EventEmitter {
  writableLength = 0;
  destroyed = false;
  writeHead(): this {
    return this;
  }
  write(chunk: string): boolean {
    this.writableLength += Buffer.byteLength(chunk);
    return this.writableLength < 16_384;
  }
  end(): void {
    this.emit('close');
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

describe('LiveFeed: a client that stops reading', () => {
  it("is let go once more than MAX_UNREAD_BYTES wait for it, so that it cannot grow berth's memory", async () => {
    const clock = new FakeClock();
    const listeners = new Set<() => void>();
    const big = 'x'.repeat(300 * 1024);
    const feed = new LiveFeed({
      clock,
      render: async () => big,
      html: (view) => view,
      diff: () => 'full',
      now: () => clock.now(),
      onChange: (l) => (listeners.add(l), () => listeners.delete(l)),
      debounceMs: 0,
    });
    const stalled = new StalledResponse();
    feed.attach(stalled as unknown as ServerResponse);
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    await settle();
    for (let i = 0; i < 10 && !stalled.destroyed; i++) {
      for (const l of listeners) l();
      await clock.advance(1);
      await settle();
    }
    assert.ok(stalled.destroyed, 'the stalled client was cut');
    assert.ok(
      stalled.writableLength <= MAX_UNREAD_BYTES + big.length + 100,
      `buffered ${stalled.writableLength} bytes at most`,
    );
    assert.equal(feed.size, 0);
    feed.close();
  });
});

/** A response that records what is written to it. */
class RecordingResponse extends EventEmitter {
  writableLength = 0;
  readonly written: string[] = [];
  writeHead(): this {
    return this;
  }
  write(chunk: string): boolean {
    this.written.push(chunk);
    return true;
  }
  end(): void {
    this.emit('close');
  }
  destroy(): void {
    this.emit('close');
  }
  /** Every frame's event name, in order (the `retry:` line left out). */
  events(): string[] {
    return this.written
      .join('')
      .split('\n\n')
      .flatMap((frame) => /^event: (\w+)/.exec(frame)?.[1] ?? []);
  }
}

describe('LiveFeed: what each client is sent', () => {
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  /** A feed over a map of rows (name -> text): its diff names the rows that changed. */
  function rowsFeed(clock: FakeClock) {
    let rows: Record<string, string> = { a: 'one', b: 'two' };
    const listeners = new Set<() => void>();
    let renders = 0;
    const feed = new LiveFeed<{ now: number; rows: Record<string, string> }>({
      clock,
      render: async () => (renders++, { now: clock.now(), rows }),
      html: (view) => Object.values(view.rows).join('\n'),
      diff: (before, after) => {
        const changed = Object.keys(after.rows).filter((k) => before.rows[k] !== after.rows[k]);
        return changed.length === 0 ? undefined : { changed };
      },
      now: (view) => view.now,
      onChange: (l) => (listeners.add(l), () => listeners.delete(l)),
      debounceMs: 1_000,
      refreshMs: 10_000,
    });
    return {
      feed,
      renders: () => renders,
      change(patch: Record<string, string>) {
        rows = { ...rows, ...patch };
        for (const l of listeners) l();
      },
    };
  }

  it('sends the whole part first, then only what changed, changes within debounceMs coalesced into one render', async () => {
    const clock = new FakeClock();
    const { feed, change, renders } = rowsFeed(clock);
    const client = new RecordingResponse();
    feed.attach(client as unknown as ServerResponse);
    await settle();
    assert.deepEqual(client.events(), ['live', 'tick']);
    assert.match(client.written.join(''), /event: live\ndata: one\ndata: two\n\nevent: tick\ndata: \{"now":\d+\}\n\n$/);
    const before = renders();
    change({ a: 'uno' });
    await clock.advance(500);
    change({ a: 'eins' });
    await clock.advance(500);
    await settle();
    assert.equal(renders() - before, 1, 'two changes within a second: one render');
    assert.deepEqual(client.events(), ['live', 'tick', 'patch']);
    assert.match(client.written.at(-1) ?? '', /^event: patch\ndata: \{"changed":\["a"\]\}\n\n$/);
    feed.close();
  });

  it('sends a client with nothing new a tick at each refresh, and nothing at a change that changed nothing', async () => {
    const clock = new FakeClock();
    const { feed, change } = rowsFeed(clock);
    const client = new RecordingResponse();
    feed.attach(client as unknown as ServerResponse);
    await settle();
    change({ a: 'one' });
    await clock.advance(1_000);
    await settle();
    assert.deepEqual(client.events(), ['live', 'tick'], 'a change that changed nothing shown sends nothing');
    await clock.advance(9_000);
    await settle();
    assert.deepEqual(client.events(), ['live', 'tick', 'tick']);
    assert.equal(client.written.at(-1), `event: tick\ndata: {"now":${clock.now()}}\n\n`);
    feed.close();
  });

  it('sends each client what changed since what it was sent: a client that came later gets the whole part', async () => {
    const clock = new FakeClock();
    const { feed, change } = rowsFeed(clock);
    const first = new RecordingResponse();
    feed.attach(first as unknown as ServerResponse);
    await settle();
    change({ a: 'uno' });
    await clock.advance(1_000);
    await settle();
    const second = new RecordingResponse();
    feed.attach(second as unknown as ServerResponse);
    await settle();
    assert.match(second.written.join(''), /event: live\ndata: uno\ndata: two/);
    change({ b: 'dos' });
    await clock.advance(1_000);
    await settle();
    assert.deepEqual(first.events(), ['live', 'tick', 'patch', 'patch']);
    assert.deepEqual(second.events(), ['live', 'tick', 'patch']);
    assert.equal(first.written.at(-1), 'event: patch\ndata: {"changed":["b"]}\n\n');
    assert.equal(second.written.at(-1), first.written.at(-1));
    feed.close();
    assert.equal(feed.size, 0);
  });
});
