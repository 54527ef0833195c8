/**
 * The live feed as it was before it sent changes (berth up to d2e6e96, src/http/live-feed.ts),
 * kept for bench/live-feed.ts to measure against: every change (coalesced over 250 ms) and every
 * 10 s, each client is sent the whole live part as HTML.
 */
import type { ServerResponse } from 'node:http';
import type { Clock } from '../../src/util/clock.js';
import { escapeHtml } from '../../src/http/status-page.js';

const MAX_UNREAD = 1024 * 1024;

export interface FullPageFeedOptions {
  /** Renders what is pushed; may do I/O. */
  render(): Promise<string>;
  /** Subscribes to changes; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  clock: Clock;
  debounceMs?: number;
  refreshMs?: number;
}

export class FullPageFeed {
  private readonly clients = new Set<ServerResponse>();
  private unsubscribe: (() => void) | undefined;
  private cancelPush: (() => void) | undefined;
  private cancelRefresh: (() => void) | undefined;
  private pushing: Promise<void> | undefined;

  constructor(private readonly options: FullPageFeedOptions) {}

  get size(): number {
    return this.clients.size;
  }

  /** Takes over `response` as an event stream until the client goes or `close` is called. */
  attach(response: ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    response.write('retry: 2000\n\n');
    this.clients.add(response);
    response.on('close', () => this.detach(response));
    this.unsubscribe ??= this.options.onChange(() => this.schedulePush(this.options.debounceMs ?? 250));
    void this.push([response]);
    this.scheduleRefresh();
  }

  /** Ends every stream (server shutdown). */
  close(): void {
    for (const client of [...this.clients]) {
      client.end();
      this.detach(client);
    }
  }

  private detach(response: ServerResponse): void {
    this.clients.delete(response);
    if (this.clients.size > 0) return;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.cancelPush?.();
    this.cancelPush = undefined;
    this.cancelRefresh?.();
    this.cancelRefresh = undefined;
  }

  private schedulePush(delayMs: number): void {
    if (this.cancelPush) return;
    this.cancelPush = this.options.clock.schedule(() => {
      this.cancelPush = undefined;
      void this.push([...this.clients]);
    }, delayMs);
  }

  private scheduleRefresh(): void {
    if (this.cancelRefresh) return;
    this.cancelRefresh = this.options.clock.schedule(() => {
      this.cancelRefresh = undefined;
      if (this.clients.size === 0) return;
      this.schedulePush(0);
      this.scheduleRefresh();
    }, this.options.refreshMs ?? 10_000);
  }

  /** One render at a time; a push requested meanwhile runs after it. */
  private async push(targets: ServerResponse[]): Promise<void> {
    while (this.pushing) await this.pushing;
    this.pushing = (async () => {
      const html = await this.options
        .render()
        .catch(
          (error: unknown) =>
            `<p class="banner" role="alert">status unavailable: ${escapeHtml(String((error as Error).message))}</p>`,
        );
      const frame = `event: live\n${html
        .split('\n')
        .map((line) => `data: ${line}`)
        .join('\n')}\n\n`;
      for (const client of targets) {
        if (!this.clients.has(client)) continue;
        if (client.writableLength > MAX_UNREAD) {
          client.destroy();
          this.detach(client);
        } else client.write(frame);
      }
    })().finally(() => {
      this.pushing = undefined;
    });
    await this.pushing;
  }
}
