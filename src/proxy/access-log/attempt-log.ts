/**
 * The upstream attempts berth has read from nginx's access log, kept per upstream address, with a
 * bound on the whole (pure: no I/O, no clock).
 *
 * Each attempt is kept under its own address (after a retry one request leaves an attempt under
 * each upstream it tried). At most `capacity` attempts are kept overall; when full, the oldest
 * attempt of the address holding the most goes, so a busy stable revision's stream cannot push a
 * canary's few requests out of the window being judged. At most `maxAddresses` addresses are
 * kept; a new address beyond that replaces the one heard from least recently.
 */
import type { UpstreamAttempt } from './upstream-attempts.js';

/** One attempt as kept: when nginx logged its request, its status and its response time. */
export interface KeptAttempt {
  /** `$msec` of the request, ms since the epoch (nginx's clock). */
  at: number;
  /** When berth received the line, ms since the epoch (berth's clock). */
  receivedAt: number;
  status?: number;
  responseMs?: number;
}

/** A first-in first-out list that drops from the front without copying each time. */
class Queue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): void {
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** The kept items, oldest first. */
  *values(): Iterable<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
  }
}

interface AddressLog {
  attempts: Queue<KeptAttempt>;
  lastReceivedAt: number;
}

/** The bounded store of attempts; see the module comment. */
export class AttemptLog {
  private readonly byAddress = new Map<string, AddressLog>();
  private size = 0;

  constructor(
    private readonly capacity = 50_000,
    private readonly maxAddresses = 256,
  ) {}

  /** The number of attempts kept now (never above `capacity`). */
  get kept(): number {
    return this.size;
  }

  /** Keeps each attempt of one request under its address. */
  add(at: number, receivedAt: number, attempts: readonly UpstreamAttempt[]): void {
    for (const attempt of attempts) {
      let log = this.byAddress.get(attempt.address);
      if (log === undefined) {
        if (this.byAddress.size >= this.maxAddresses) this.forgetLeastRecent();
        log = { attempts: new Queue(), lastReceivedAt: receivedAt };
        this.byAddress.set(attempt.address, log);
      }
      if (this.size >= this.capacity) this.dropFromLargest();
      const kept: KeptAttempt = { at, receivedAt };
      if (attempt.status !== undefined) kept.status = attempt.status;
      if (attempt.responseMs !== undefined) kept.responseMs = attempt.responseMs;
      log.attempts.push(kept);
      log.lastReceivedAt = receivedAt;
      this.size++;
    }
  }

  /** The attempts kept for one address, oldest first (none for an address never heard). */
  *attemptsAt(address: string): Iterable<KeptAttempt> {
    const log = this.byAddress.get(address);
    if (log) yield* log.attempts.values();
  }

  private dropFromLargest(): void {
    let largest: AddressLog | undefined;
    for (const log of this.byAddress.values()) {
      if (!largest || log.attempts.length > largest.attempts.length) largest = log;
    }
    if (largest && largest.attempts.length > 0) {
      largest.attempts.shift();
      this.size--;
    }
  }

  private forgetLeastRecent(): void {
    let oldest: [string, AddressLog] | undefined;
    for (const entry of this.byAddress) {
      if (!oldest || entry[1].lastReceivedAt < oldest[1].lastReceivedAt) oldest = entry;
    }
    if (oldest) {
      this.byAddress.delete(oldest[0]);
      this.size -= oldest[1].attempts.length;
    }
  }
}
