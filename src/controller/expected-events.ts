/**
 * The engine events berth's own actions are about to cause (a `start` after it starts a
 * container, `kill`/`die`/`stop` after it stops one, `destroy` after it removes one), so the
 * event source can drop them instead of queueing the app again: the reconcile that acted
 * already confirms the result in its own next round. This is Kubernetes controllers'
 * "expectations" of their own writes. An event that was not expected (a crash's `die`, a
 * `start` by someone else) still queues the app. Each expected event is dropped once; what
 * never arrives expires after `ttlMs`. No timers: expired entries are swept as new ones come.
 */
import type { Clock } from '../util/clock.js';

const DEFAULT_TTL_MS = 60_000;

export class ExpectedEvents {
  /** container id -> actions still expected, with their deadline. */
  private readonly pending = new Map<string, { actions: string[]; until: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = DEFAULT_TTL_MS,
  ) {}

  expect(containerId: string, actions: readonly string[]): void {
    this.sweep();
    const entry = this.pending.get(containerId);
    const until = this.clock.now() + this.ttlMs;
    if (entry) this.pending.set(containerId, { actions: [...entry.actions, ...actions], until });
    else this.pending.set(containerId, { actions: [...actions], until });
  }

  /** True (and forgotten) when berth expected `action` on `containerId`. */
  consume(containerId: string, action: string): boolean {
    const entry = this.pending.get(containerId);
    if (!entry || entry.until < this.clock.now()) return false;
    const index = entry.actions.indexOf(action);
    if (index === -1) return false;
    entry.actions.splice(index, 1);
    if (entry.actions.length === 0) this.pending.delete(containerId);
    return true;
  }

  get size(): number {
    return this.pending.size;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [id, entry] of this.pending) if (entry.until < now) this.pending.delete(id);
  }
}
