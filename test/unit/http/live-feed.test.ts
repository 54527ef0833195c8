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
  it('is let go once more than MAX_UNREAD_BYTES wait for it, so that it cannot grow berth\'s memory', async () => {
    const clock = new FakeClock();
    const listeners = new Set<() => void>();
    const big = 'x'.repeat(300 * 1024);
    const feed = new LiveFeed({ clock, render: async () => big, onChange: (l) => (listeners.add(l), () => listeners.delete(l)), debounceMs: 0 });
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
    assert.ok(stalled.writableLength <= MAX_UNREAD_BYTES + big.length + 100, `buffered ${stalled.writableLength} bytes at most`);
    assert.equal(feed.size, 0);
    feed.close();
  });
});
