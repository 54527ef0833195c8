/**
 * Source: the manifest directory. chokidar watches the directory (recursively); a plain
 * fs.watch on its parent sees the directory entry itself change (git-sync swaps a symlink
 * atomically, config management may delete and recreate the directory). Every burst of events is debounced into
 * one `onChange` call; the caller re-reads the whole directory, so the event itself carries
 * no meaning (level-triggered). When the directory's real path changes (a symlink swap), the
 * directory watch is re-armed on the new target. A plain fs.watch on the directory itself is
 * the fast path for its top-level files: chokidar, which stats what changed before it reports,
 * adds up to a few hundred milliseconds on a loaded host; both only ever trigger a re-read.
 */
import { watch as fsWatch, type FSWatcher as FsWatcher } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';

export interface ManifestWatcherOptions {
  /** Quiet time after the last event before `onChange` runs. */
  debounceMs: number;
  /** `onChange` runs at the latest this long after the first event of a burst. */
  maxDelayMs: number;
}

export const DEFAULT_WATCH_OPTIONS: ManifestWatcherOptions = { debounceMs: 40, maxDelayMs: 300 };

export class ManifestWatcher {
  private readonly dir: string;
  private dirWatcher: FSWatcher | undefined;
  private fastWatcher: FsWatcher | undefined;
  private parentWatcher: FsWatcher | undefined;
  private watchedRealPath: string | undefined;
  private cancelTimer: (() => void) | undefined;
  private burstStartedAt: number | undefined;
  private closed = false;
  /** Resolves once close() ran: a re-arm waiting for chokidar's 'ready' (which a closed watcher never sends) stops waiting. */
  private readonly closing: Promise<void>;
  private markClosed: () => void = () => undefined;

  constructor(
    dir: string,
    private readonly onChange: () => void,
    private readonly deps: { clock: Clock; logger: Logger },
    private readonly options: ManifestWatcherOptions = DEFAULT_WATCH_OPTIONS,
  ) {
    this.dir = resolve(dir);
    this.closing = new Promise((done) => (this.markClosed = done));
  }

  async start(): Promise<void> {
    const parent = dirname(this.dir);
    const name = basename(this.dir);
    try {
      this.parentWatcher = fsWatch(parent, { persistent: true }, (_event, filename) => {
        if (filename === null || filename === name) this.touched();
      });
      this.parentWatcher.on('error', (error) =>
        this.deps.logger.warn({ err: error }, 'watching the manifest directory entry failed'),
      );
    } catch (error) {
      this.deps.logger.warn(
        { err: error, parent },
        'cannot watch the parent of the manifest directory; a replaced directory is noticed at the next resync',
      );
    }
    await this.armDirectory();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.markClosed();
    this.cancelTimer?.();
    this.parentWatcher?.close();
    this.fastWatcher?.close();
    await this.dirWatcher?.close();
  }

  /** Re-arms the directory watch if the directory now resolves elsewhere; called after each read. */
  async recheck(): Promise<void> {
    const current = await realpath(this.dir).catch(() => undefined);
    if (current !== this.watchedRealPath) await this.armDirectory();
  }

  private async armDirectory(): Promise<void> {
    if (this.closed) return;
    this.fastWatcher?.close();
    this.fastWatcher = undefined;
    await this.dirWatcher?.close();
    this.watchedRealPath = await realpath(this.dir).catch(() => undefined);
    // close() may have run while this awaited: a watcher made now would hold the process after the stop.
    if (this.closed) return;
    if (this.watchedRealPath === undefined) {
      this.dirWatcher = undefined;
      return;
    }
    const root = this.watchedRealPath;
    try {
      this.fastWatcher = fsWatch(root, { persistent: false }, (_event, filename) => {
        if (filename === null || !filename.startsWith('.')) this.touched();
      });
      this.fastWatcher.on('error', () => undefined);
    } catch {
      // chokidar alone still sees every change.
    }
    const watcher = watch(root, {
      ignoreInitial: true,
      depth: 8,
      ignored: (path) => path !== root && basename(path).startsWith('.'),
    });
    watcher.on('all', () => this.touched());
    watcher.on('error', (error) => this.deps.logger.warn({ err: error }, 'watching the manifest directory failed'));
    this.dirWatcher = watcher;
    await Promise.race([ready(watcher), this.closing]);
    if (this.closed) {
      this.fastWatcher?.close();
      await watcher.close();
    }
  }

  private touched(): void {
    if (this.closed) return;
    const now = this.deps.clock.now();
    this.burstStartedAt ??= now;
    this.cancelTimer?.();
    const wait = Math.min(this.options.debounceMs, this.burstStartedAt + this.options.maxDelayMs - now);
    this.cancelTimer = this.deps.clock.schedule(
      () => {
        this.cancelTimer = undefined;
        this.burstStartedAt = undefined;
        this.onChange();
      },
      Math.max(0, wait),
    );
  }
}

function ready(watcher: FSWatcher): Promise<void> {
  return new Promise((resolve) => watcher.once('ready', () => resolve()));
}
