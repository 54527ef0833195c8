/**
 * Server-sent events for the status page. Each client gets the whole live part at once (`live`),
 * then only what changed since what it was sent (`patch`, from `diff`): changes within
 * `debounceMs` coalesce into one render. Every `refreshMs` everything is rendered again (what
 * changes with time alone, a failing source's age, is sent), and a client with nothing new gets a
 * `tick`: the server's time, which the page's ages are written against, and a write that keeps
 * the connection from being cut as idle. No timer runs without a client.
 *
 * Frames: `event: live` (data: HTML), `event: patch` (data: JSON, live-patch.ts), `event: tick`
 * (data: `{"now":MS}`). A render that fails is sent as a whole part saying so.
 */
import type { ServerResponse } from 'node:http';
import type { Clock } from '../util/clock.js';
import { escapeHtml } from './status-page.js';

/** A client that has not read this much of what was pushed to it is let go: a stalled reader must not grow berth's memory. */
export const MAX_UNREAD_BYTES = 1024 * 1024;

interface LiveFeedOptions<View> {
  /** What is shown now; may do I/O. */
  render(): Promise<View>;
  /** The whole live part, as HTML. */
  html(view: View): string;
  /** What changed between two views, as a `patch` frame's data; 'full' to send the whole part; undefined when nothing did. */
  diff(before: View, after: View): object | 'full' | undefined;
  /** The time a view was made at (ms since the epoch). */
  now(view: View): number;
  /** Subscribes to changes; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  clock: Clock;
  /** Changes within this coalesce into one push (default 1 s). */
  debounceMs?: number;
  /** Everything is rendered again this often, and a client with nothing new gets a `tick` (default 10 s). */
  refreshMs?: number;
}

export class LiveFeed<View> {
  /** Each client, with the view it was last sent (undefined: it gets the whole part next). */
  private readonly clients = new Map<ServerResponse, View | undefined>();
  private unsubscribe: (() => void) | undefined;
  private cancelPush: (() => void) | undefined;
  private cancelRefresh: (() => void) | undefined;
  private pushing: Promise<void> | undefined;
  /** Set by the refresh: the next push sends a client with nothing new the time. */
  private tickDue = false;

  constructor(private readonly options: LiveFeedOptions<View>) {}

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
    this.clients.set(response, undefined);
    response.on('close', () => this.detach(response));
    this.unsubscribe ??= this.options.onChange(() => this.schedulePush(this.options.debounceMs ?? 1_000));
    void this.push([response]);
    this.scheduleRefresh();
  }

  /** Ends every stream (server shutdown). */
  close(): void {
    for (const client of [...this.clients.keys()]) {
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
      void this.push([...this.clients.keys()]);
    }, delayMs);
  }

  private scheduleRefresh(): void {
    if (this.cancelRefresh) return;
    this.cancelRefresh = this.options.clock.schedule(() => {
      this.cancelRefresh = undefined;
      if (this.clients.size === 0) return;
      this.tickDue = true;
      this.schedulePush(0);
      this.scheduleRefresh();
    }, this.options.refreshMs ?? 10_000);
  }

  /**
   * One render at a time; a push requested meanwhile runs after it. Each client is sent what
   * changed since its own last view (clients that were sent the same view share one frame);
   * at a refresh, a client with nothing new gets the time.
   */
  private async push(targets: ServerResponse[]): Promise<void> {
    while (this.pushing) await this.pushing;
    this.pushing = (async () => {
      const { options } = this;
      const tick = this.tickDue;
      this.tickDue = false;
      let view: View | undefined;
      let failure: string | undefined;
      try {
        view = await options.render();
      } catch (error) {
        failure = `<p class="banner" role="alert">status unavailable: ${escapeHtml(String((error as Error).message))}</p>`;
      }
      const frames = new Map<View | undefined, string>();
      const frameFor = (before: View | undefined): string => {
        if (view === undefined) return liveFrame(failure ?? '');
        const cached = frames.get(before);
        if (cached !== undefined) return cached;
        const change = before === undefined ? 'full' : options.diff(before, view);
        const frame =
          change === 'full'
            ? `${liveFrame(options.html(view))}${tickFrame(options.now(view))}`
            : change !== undefined
              ? `event: patch\ndata: ${JSON.stringify(change)}\n\n`
              : tick
                ? tickFrame(options.now(view))
                : '';
        frames.set(before, frame);
        return frame;
      };
      for (const client of targets) {
        if (!this.clients.has(client)) continue;
        if (client.writableLength > MAX_UNREAD_BYTES) {
          client.destroy();
          this.detach(client);
          continue;
        }
        const frame = frameFor(this.clients.get(client));
        if (frame !== '') client.write(frame);
        this.clients.set(client, view);
      }
    })().finally(() => {
      this.pushing = undefined;
    });
    await this.pushing;
  }
}

function liveFrame(html: string): string {
  return `event: live\n${html
    .split('\n')
    .map((line) => `data: ${line}`)
    .join('\n')}\n\n`;
}

function tickFrame(now: number): string {
  return `event: tick\ndata: {"now":${now}}\n\n`;
}
