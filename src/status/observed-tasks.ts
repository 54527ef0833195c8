/**
 * The swarm manager's last task list (and node list) for the status endpoints on Swarm, so that a
 * page or `/api` request never waits on the engine: a request answers from what is known and, when
 * that is older than the caller's bound, starts one list in the background (one at a time, shared
 * by every request); its answer applies when it lands and tells the listeners when it changed
 * what is shown. A list that fails leaves what was known, and is not retried before the bound
 * passes again.
 */
import type { SwarmTasks } from './replicas.js';

export class ObservedTasks {
  private known: SwarmTasks | undefined;
  /** When the last list was started (a failed one too): the next waits for the bound. */
  private askedAt: number | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly listeners = new Set<() => void>();

  /** `list`: the namespace's tasks and the swarm's nodes, from the manager. */
  constructor(
    private readonly list: () => Promise<SwarmTasks>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The tasks and nodes of the last list that succeeded; undefined before one did. */
  current(): SwarmTasks | undefined {
    return this.known;
  }

  /** Called after each list that changed what is known; returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts a list when the last was started `maxAgeMs` ago or more and none is in flight; never waits for it. */
  refreshIfOlder(maxAgeMs: number): void {
    if (this.refreshing !== undefined) return;
    if (this.askedAt !== undefined && this.now() - this.askedAt < maxAgeMs) return;
    this.askedAt = this.now();
    this.refreshing = this.list()
      .then((listed) => this.apply(listed))
      .catch(() => undefined)
      .finally(() => {
        this.refreshing = undefined;
      });
  }

  /** Resolves once the list in flight, if any, has applied (for tests and an orderly stop). */
  async settled(): Promise<void> {
    await this.refreshing;
  }

  private apply(listed: SwarmTasks): void {
    const before = this.known;
    this.known = listed;
    if (before !== undefined && signature(before) === signature(listed)) return;
    for (const listener of [...this.listeners]) listener();
  }
}

/** What of a list the status shows: a list that differs only in what is not shown changes nothing. */
function signature(swarm: SwarmTasks): string {
  return JSON.stringify([
    swarm.tasks.map((t) => [t.id, t.nodeId, t.state, t.desiredState, t.specHash, t.image, t.error, t.slot]),
    swarm.nodes.map((n) => [n.id, n.addr, n.hostname]),
  ]);
}
