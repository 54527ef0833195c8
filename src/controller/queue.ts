/**
 * A work queue of keys in the style of client-go's rate-limited workqueue:
 * - a key is queued at most once however often it is added (de-duplication);
 * - a key being processed is never handed out again until `done`; an add meanwhile marks it
 *   dirty and it is queued once more after `done` (per-key serialization);
 * - `addRateLimited` re-adds after an exponential backoff, and while that backoff runs plain
 *   `add`s of the key wait for it (so the engine events a failed deploy causes cannot turn
 *   backoff into a hot loop), and so do adds that arrived while the failing run was in
 *   progress; `retryNow` (a manifest edit) cancels the backoff.
 */
import type { Clock } from '../util/clock.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';

export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys in `queue`. */
  private readonly queued = new Set<string>();
  /** Keys added while being processed: queued again by `done`. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys whose next run must not wait for a backoff (the desired state changed). */
  private readonly urgent = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly notBefore = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; cancel: () => void }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(
    private readonly clock: Clock,
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
  ) {}

  /** Queues `key` now, unless it is already queued or waiting out a backoff. */
  add(key: string): void {
    if (this.inBackoff(key)) return;
    this.enqueue(key);
  }

  /** Queues `key` after `ms` (the earliest of several pending delays wins). */
  addAfter(key: string, ms: number): void {
    if (ms <= 0) {
      this.add(key);
      return;
    }
    this.schedule(key, this.clock.now() + ms, () => this.add(key));
  }

  /** Records a failure of `key` and queues it again after the backoff for its failure count. */
  addRateLimited(key: string): void {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const at = this.clock.now() + backoffDelay(this.policy, failures);
    this.notBefore.set(key, at);
    this.delayed.get(key)?.cancel();
    this.delayed.delete(key);
    this.schedule(key, at, () => this.enqueue(key));
  }

  /** Delay `addRateLimited` would use next for `key`. */
  nextBackoff(key: string): number {
    return backoffDelay(this.policy, (this.failures.get(key) ?? 0) + 1);
  }

  /** Clears `key`'s failure count (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
    this.notBefore.delete(key);
  }

  /** Cancels `key`'s backoff and queues it now (or right after its run in progress): the desired state changed. */
  retryNow(key: string): void {
    this.forget(key);
    this.delayed.get(key)?.cancel();
    this.delayed.delete(key);
    this.urgent.add(key);
    this.enqueue(key);
  }

  /** Resolves with the next key, or undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Marks `key` processed. If it was added meanwhile it is queued again, unless it just failed
   * and is backing off: then the backoff's own timer queues it (an urgent retry does not wait).
   */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && (this.urgent.has(key) || !this.inBackoff(key))) this.push(key);
  }

  /** True while `key` is being processed (handed out, not yet `done`). */
  inFlight(key: string): boolean {
    return this.processing.has(key);
  }

  /** Keys waiting to be handed out. */
  get depth(): number {
    return this.queue.length;
  }

  /** Nothing queued, nothing in progress, nothing scheduled. */
  isIdle(): boolean {
    return this.queue.length === 0 && this.processing.size === 0 && this.delayed.size === 0;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { cancel } of this.delayed.values()) cancel();
    this.delayed.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  private inBackoff(key: string): boolean {
    return (this.notBefore.get(key) ?? 0) > this.clock.now();
  }

  private enqueue(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) this.dirty.add(key);
    else if (!this.queued.has(key)) this.push(key);
  }

  private push(key: string): void {
    this.dirty.delete(key);
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter(this.take(key));
      return;
    }
    this.queued.add(key);
    this.queue.push(key);
  }

  private take(key: string): string {
    this.queued.delete(key);
    this.urgent.delete(key);
    this.processing.add(key);
    return key;
  }

  private schedule(key: string, at: number, fire: () => void): void {
    if (this.shuttingDown) return;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    pending?.cancel();
    const cancel = this.clock.schedule(() => {
      this.delayed.delete(key);
      fire();
    }, at - this.clock.now());
    this.delayed.set(key, { at, cancel });
  }
}
