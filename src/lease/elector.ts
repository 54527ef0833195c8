/**
 * The elector: one replica's loop over the lease (judge.ts decides; the LeaseStore reads and
 * writes the swarm). It looks every `retryMs`: a leader renews, a standby watches, and takes the
 * lease when the judge finds it expired. `leading()` is what the fence and every gated side effect
 * ask right before they act: true only while the last renew that succeeded was sent less than the
 * renew deadline ago, by the monotonic clock. The role's changes are said (`lease.acquired`,
 * `lease.lost`) and handed to `onRole`. stop() hands the lease back (holder '') when this replica
 * holds it, so a standby takes it at its next look instead of waiting a duration.
 */
import type { EventSink } from '../events/types.js';
import { LeaseConflictError, NameConflictError, RuntimeError } from '../runtime/errors.js';
import type { LeaseFields, LeaseRecord, LeaseStore } from '../runtime/lease.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { judgeLease, leaseTiming, type LeaseMemory, mayAct } from './judge.js';

/** Who this replica is: `id` decides; `name` is for people. */
export interface LeaseIdentity {
  id: string;
  name: string;
}

export interface ElectorDeps {
  store: LeaseStore;
  clock: Clock;
  /** Monotonic milliseconds (performance.now in production): advances while the process is frozen. */
  monotonic: () => number;
  logger: Logger;
  identity: LeaseIdentity;
  durationMs: number;
  events?: EventSink;
  /** Called when this replica starts or stops leading (after the event is said). */
  onRole?(leading: boolean): void;
}

/** What the status endpoints show of the lease. */
export interface LeaseView {
  role: 'leader' | 'standby';
  /** The holder's name as the lease last read says ('' when released or not read yet). */
  holder: string;
  /** Seconds since the lease was last seen to change (by this replica's clock); undefined before a look. */
  ageSeconds?: number;
  durationSeconds: number;
  transitions: number;
}

export class LeaseElector {
  private memory: LeaseMemory = {};
  private last: LeaseRecord | undefined;
  /** The role as last said: leading() may turn false between looks (the deadline); the next look says so. */
  private said = false;
  /** Whether the current look changed the lease's hands (an acquire from another name). */
  private news = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly retryMs: number;
  private readonly renewDeadlineMs: number;
  /** The renew labels of this replica's last writes (the one answered and one in flight): confirm() knows its own. */
  private written: string[] = [];

  constructor(private readonly deps: ElectorDeps) {
    ({ retryMs: this.retryMs, renewDeadlineMs: this.renewDeadlineMs } = leaseTiming(deps.durationMs));
  }

  /** Whether this replica holds the lease right now: ask immediately before acting. */
  leading(): boolean {
    return mayAct(this.memory.renewSentMs, this.deps.monotonic(), this.renewDeadlineMs);
  }

  /**
   * leading(), and the lease as the swarm holds it now is still this replica's last write (its
   * holder and renew label): asked before a write the swarm cannot fence by version (a job, a
   * secret, a removal, a push). The monotonic clock stops while a virtual machine is paused, so a
   * leader resumed after a takeover may still think its deadline unreached; this read tells.
   * Resolves false (and stops this replica acting) when the lease moved; rejects when it cannot be read.
   */
  async confirm(): Promise<boolean> {
    if (!this.leading()) return false;
    const lease = await this.deps.store.read();
    const { id, name } = this.deps.identity;
    if (lease?.holder === id && lease.holderName === name && this.written.includes(lease.renewed))
      return this.leading();
    this.deps.logger.warn(
      { source: 'lease', holder: lease?.holderName ?? '' },
      `the lease is no longer this berth's (held by ${lease?.holderName || 'nobody'}): it stops acting`,
    );
    this.last = lease;
    this.memory = { ...this.memory, renewSentMs: undefined };
    this.sayRole();
    return false;
  }

  view(): LeaseView {
    const seen = this.memory.seen;
    return {
      role: this.leading() ? 'leader' : 'standby',
      holder: this.last?.holderName ?? '',
      ...(seen ? { ageSeconds: Math.max(0, Math.round((this.deps.monotonic() - seen.sinceMs) / 1000)) } : {}),
      durationSeconds: Math.round(this.deps.durationMs / 1000),
      transitions: this.last?.transitions ?? 0,
    };
  }

  /** One look now (the first one decides the start's role), then one every retry period until stop(). */
  async start(): Promise<void> {
    await this.look();
    if (!this.said)
      this.deps.logger.info(
        { source: 'lease', role: 'standby' },
        `${this.deps.identity.name} is standby: the lease is held by ${this.last?.holderName || 'nobody yet'}`,
      );
    this.loop = (async () => {
      while (!this.abort.signal.aborted) {
        try {
          await this.deps.clock.sleep(this.retryMs, this.abort.signal);
        } catch {
          return;
        }
        await this.look();
      }
    })();
  }

  /** Stops looking; hands the lease back when this replica holds it. */
  async stop(): Promise<void> {
    this.abort.abort(new Error('berth is stopping'));
    await this.loop;
    if (!this.leading()) return;
    const wasLeading = this.said;
    try {
      // Released at the version read now, only if it is still this replica's: a taken lease is left alone.
      const lease = await this.deps.store.read();
      if (lease?.holder === this.deps.identity.id) {
        // The name stays: the next holder tells a takeover from this replica's own restart.
        await this.deps.store.update(lease.version, { ...this.fields(lease.transitions), holder: '' });
        this.deps.logger.info({ source: 'lease' }, 'lease released: a standby takes it at its next look');
      }
    } catch (error) {
      this.deps.logger.warn({ source: 'lease', err: error }, `lease not released: ${(error as Error).message}`);
    }
    this.memory = { ...this.memory, renewSentMs: undefined };
    if (wasLeading) this.say(false, 'this berth stopped', false);
  }

  /** One look at the lease and what follows from it; never throws. */
  async look(): Promise<void> {
    try {
      await this.lookOnce();
    } catch (error) {
      // Another replica made the lease between this one's read and its create: read it at once (no second create).
      if (error instanceof NameConflictError) await this.lookOnce().catch((again: unknown) => this.lookFailed(again));
      else this.lookFailed(error);
    }
    this.sayRole();
    this.news = false;
  }

  private lookFailed(error: unknown): void {
    if (!(error instanceof RuntimeError)) throw error;
    this.deps.logger.warn({ source: 'lease', err: error }, `lease look failed: ${error.message}`);
  }

  /** One read, judged, and the write it calls for; rejects with what the store rejects with. */
  private async lookOnce(): Promise<void> {
    const { store, logger, identity } = this.deps;
    const lease = await store.read();
    const judged = judgeLease({
      me: identity.id,
      myName: identity.name,
      lease,
      memory: this.memory,
      nowMs: this.deps.monotonic(),
      durationMs: this.deps.durationMs,
    });
    this.memory = judged.memory;
    this.last = lease;
    const { decision } = judged;
    // News (an event) only when the lease changes hands: not when this replica makes it, nor takes back its own.
    this.news = decision.kind === 'acquire' && lease?.holderName !== identity.name;
    if (decision.kind === 'create') await this.write(undefined, 0, 'created');
    else if (decision.kind === 'renew') await this.write(decision.version, lease!.transitions, 'renewed');
    else if (decision.kind === 'acquire') {
      logger.info(
        { source: 'lease', from: lease?.holderName ?? '' },
        decision.from === ''
          ? 'the lease is free: taking it'
          : `the lease of ${lease?.holderName} was not renewed for ${lease?.durationSeconds || this.deps.durationMs / 1000} s (by this berth's clock): taking it`,
      );
      await this.write(decision.version, (lease?.transitions ?? 0) + 1, 'acquired');
    } else this.memory = { ...this.memory, renewSentMs: undefined };
  }

  /** Writes the lease as held by this replica (made anew when `version` is undefined); the send time counts. */
  private async write(version: number | undefined, transitions: number, how: string): Promise<void> {
    const sentMs = this.deps.monotonic();
    const fields = this.fields(transitions);
    // The last write answered and this one in flight: either may be what the swarm holds now.
    this.written = [...this.written.slice(-1), fields.renewed];
    try {
      if (version === undefined) await this.deps.store.create(fields);
      else await this.deps.store.update(version, fields);
      this.memory = { ...this.memory, renewSentMs: sentMs };
      if (how !== 'renewed') this.deps.logger.debug({ source: 'lease', how }, `lease ${how}`);
    } catch (error) {
      // Another replica wrote first (made it, or renewed or took it): this one does not lead.
      if (error instanceof NameConflictError || error instanceof LeaseConflictError)
        this.memory = { ...this.memory, renewSentMs: undefined };
      throw error;
    }
  }

  private fields(transitions: number): LeaseFields {
    return {
      holder: this.deps.identity.id,
      holderName: this.deps.identity.name,
      renewed: new Date(this.deps.clock.now()).toISOString(),
      durationSeconds: Math.max(1, Math.round(this.deps.durationMs / 1000)),
      transitions,
    };
  }

  /** Says the role when it changed since it was last said. */
  private sayRole(): void {
    const leading = this.leading();
    if (leading === this.said) return;
    // News when the lease changed hands: taken from another, or seen held by another. A renew
    // deadline missed with nobody else holding it (a manager busy electing its raft leader, say) is logged only.
    const takenByAnother =
      this.last !== undefined && this.last.holder !== '' && this.last.holder !== this.deps.identity.id;
    this.say(
      leading,
      leading ? '' : `the lease is held by ${this.last?.holderName || 'nobody'}`,
      leading ? this.news : takenByAnother,
    );
  }

  /** Logs the role; with `news`, says it as an event too (timeline, notifications). */
  private say(leading: boolean, why: string, news: boolean): void {
    this.said = leading;
    const { logger, identity, events } = this.deps;
    if (leading) {
      const message = `${identity.name} leads: it holds the lease and acts on the swarm`;
      logger.info({ source: 'lease', role: 'leader' }, message);
      if (news) events?.emit({ type: 'lease.acquired', message, details: { holder: identity.name } });
    } else {
      const message = `${identity.name} is standby: ${why}`;
      logger.info({ source: 'lease', role: 'standby' }, message);
      if (news) events?.emit({ type: 'lease.lost', message, details: { holder: this.last?.holderName ?? '' } });
    }
    this.deps.onRole?.(leading);
  }
}
