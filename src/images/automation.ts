/**
 * Image automation: the apps whose manifest carries `spec.imagePolicy` follow their repository.
 * After controller-runtime, with repositories as the keys: a look is queued for each followed
 * repository every `interval` (the shortest of the apps following it; one look per repository
 * however many apps follow it), at once when the manifests change, and at once when a registry
 * webhook names the repository. A look lists the repository's tags (the registry's and the
 * engine's own), records when each tag was first seen, judges every following app (judge-app.ts)
 * and writes a newer tag back into the app's manifest (a file in place, or a git commit). It
 * never deploys: the controller deploys what the manifest then says.
 *
 * A look that fails (registry down, refused, rate limited) changes no tag: the app's record says
 * why, an `image.policy_failed` event says it once per failure in a row, and the next look comes
 * at the interval (or when the registry's Retry-After says).
 */
import type { EventSink } from '../events/types.js';
import type { App } from '../manifest/types.js';
import { noImageMetrics, type ImageMetrics } from '../metrics/types.js';
import type { StateStore } from '../state/store.js';
import type { ImagePolicyRecord, RepositoryRecord } from '../state/types.js';
import { WorkQueue } from '../controller/queue.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { candidateTags } from './candidate-tags.js';
import { judgeApp } from './judge-app.js';
import { RegistryError } from './registry-client.js';
import { registryRepository } from './registry-repository.js';
import { WriteBackError } from './write-back/errors.js';

/** Tags remembered per repository (first-seen times); the ones seen longest ago are forgotten first. */
const TAGS_REMEMBERED = 5_000;
/** A berth started again looks at once, unless a look was made this recently (then at this long after it). */
const RESTART_GAP_MS = 30_000;
/** Repositories looked at in parallel. */
const WORKERS = 2;
/** A registry webhook wakes a repository at most this often: a burst of notifications is one look (or two). */
export const MIN_WAKE_GAP_MS = 1_000;
/** How long a registry that answered 429 without a Retry-After is left alone. */
export const RATE_LIMITED_WAIT_MS = 60_000;

/** What bears on a repository's next look: a tag coming of age (sooner than the interval). */
interface NextLook {
  maturesAt?: number;
}

/** A tag berth moves an app to. */
export interface TagMove {
  app: App;
  from: string;
  to: string;
  /** The new tag's digest, when the manifest pins one. */
  digest?: string;
  /** The policy as people read it. */
  policy: string;
}

/** Where a move was written. */
export type WrittenMove =
  | { kind: 'file'; file: string }
  /** A commit on the followed branch (`proposed`: on --git-push-branch); `unchanged`: the branch already said it, nothing pushed. */
  | { kind: 'commit' | 'proposed'; branch: string; commit?: string; unchanged: boolean };

/** Writes a move into the app's manifest (a file, or a commit); throws a one-line Error when it cannot. */
export interface TagWriter {
  write(move: TagMove, signal: AbortSignal): Promise<WrittenMove>;
}

/** Where a repository's tags come from. */
export interface TagSources {
  /** The registry's tags of `repository`; throws RegistryError. */
  registry(repository: string, signal: AbortSignal): Promise<string[]>;
  /** The tags the engine has of `repository` (docker load, a build on this host). */
  engine(repository: string): Promise<string[]>;
  /** The digest of `repository:tag` (the engine's, else the registry's), for a manifest that pins one. */
  digest(repository: string, tag: string): Promise<string | undefined>;
}

export interface ImageAutomationDeps {
  clock: Clock;
  logger: Logger;
  state: StateStore;
  events: EventSink;
  metrics?: ImageMetrics;
  /** The apps whose manifest is valid now. */
  apps(): App[];
  tags: TagSources;
  writer: TagWriter;
  /** Whether this berth may look and write back now (on Swarm, only the lease's holder does); absent: always. */
  mayWrite?(): boolean;
}

/** How often a standby asks again whether it leads, for each followed repository. */
const STANDBY_RECHECK_MS = 5_000;

export class ImageAutomation {
  private readonly queue: WorkQueue;
  private readonly abort = new AbortController();
  private workers: Promise<void>[] = [];
  /** Repositories whose last look failed, with the failure said: said again only once a look succeeds. */
  private readonly failing = new Map<string, string>();
  /** Repositories this process has looked at. */
  private readonly looked = new Set<string>();
  /** Repositories whose registry asked berth to wait (429 with Retry-After): no look before then, whatever wakes it. */
  private readonly notBefore = new Map<string, number>();

  constructor(private readonly deps: ImageAutomationDeps) {
    this.queue = new WorkQueue(deps.clock);
  }

  private started = false;

  /** Looks at every followed repository now, then at each one's interval. */
  start(): void {
    this.started = true;
    this.workers = Array.from({ length: WORKERS }, () => this.work());
    this.manifestsChanged();
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('berth is shutting down'));
    this.queue.shutDown();
    await Promise.allSettled(this.workers);
  }

  /** The manifests were read again: a repository newly followed (or an app's policy changed) is looked at now. */
  manifestsChanged(): void {
    if (!this.started || this.abort.signal.aborted) return;
    const followed = this.followed();
    const now = this.deps.clock.now();
    for (const repository of followed.keys()) {
      if (this.queue.inFlight(repository)) continue;
      // A repository this process has not looked at yet (newly followed, or berth just started) is
      // looked at now, unless a berth looked moments ago (a restart loop must not hammer a registry).
      const last = this.deps.state.repository(repository)?.lastLookAt;
      if (!this.looked.has(repository) && (last === undefined || now - last >= RESTART_GAP_MS))
        this.queue.add(repository);
      else if (!this.looked.has(repository)) this.queue.addAfter(repository, last! + RESTART_GAP_MS - now);
      else this.scheduleNext(repository, followed);
    }
    this.deps.state.keepRepositories(new Set(followed.keys()));
  }

  /**
   * A registry said `repository` (a path such as `team/web`, with or without its registry host)
   * has a new push: the followed repositories of that path are looked at now. Returns them.
   */
  wake(repository: string): string[] {
    if (!this.started || this.abort.signal.aborted) return [];
    const path = pathOf(repository);
    const woken = [...this.followed().keys()].filter((r) => r === repository || pathOf(r) === path);
    const now = this.deps.clock.now();
    for (const r of woken) {
      // Never before the registry's Retry-After, nor sooner than MIN_WAKE_GAP_MS after the last look began.
      const lastLookAt = this.deps.state.repository(r)?.lastLookAt ?? Number.NEGATIVE_INFINITY;
      const wait = Math.max((this.notBefore.get(r) ?? 0) - now, lastLookAt + MIN_WAKE_GAP_MS - now);
      if (wait > 0) this.queue.addAfter(r, wait);
      else if (this.queue.inFlight(r)) this.queue.addAfter(r, MIN_WAKE_GAP_MS);
      else this.queue.retryNow(r);
    }
    return woken;
  }

  /** The followed repositories, each with the apps following it. */
  private followed(): Map<string, App[]> {
    const byRepository = new Map<string, App[]>();
    for (const app of this.deps.apps()) {
      if (!app.spec.imagePolicy) continue;
      byRepository.set(app.spec.image, [...(byRepository.get(app.spec.image) ?? []), app]);
    }
    return byRepository;
  }

  /**
   * The next look at the shortest interval of the apps following `repository` (counted from its
   * last look), or sooner when a tag comes of age (`when.maturesAt`), never before the registry's
   * Retry-After.
   */
  private scheduleNext(repository: string, followed = this.followed(), when: NextLook = {}): void {
    const apps = followed.get(repository);
    if (!apps) return;
    const now = this.deps.clock.now();
    const intervalMs = Math.min(...apps.map((a) => a.spec.imagePolicy!.interval)) * 1000;
    const last = this.deps.state.repository(repository)?.lastLookAt ?? 0;
    const due = Math.min(last + intervalMs, when.maturesAt ?? Number.POSITIVE_INFINITY);
    const notBefore = this.notBefore.get(repository) ?? 0;
    this.queue.addAfter(repository, Math.max(due - now, notBefore - now, 0));
  }

  private async work(): Promise<void> {
    for (;;) {
      const repository = await this.queue.get();
      if (repository === undefined) return;
      let next: NextLook = {};
      let standby = false;
      try {
        // A standby (leader election) neither looks nor writes back: the leader does. Asked again a moment later.
        standby = !(this.deps.mayWrite?.() ?? true);
        // A look queued by any path (an interval, a manifest change) waits out the registry's Retry-After.
        if (!standby && (this.notBefore.get(repository) ?? 0) <= this.deps.clock.now())
          next = await this.look(repository);
      } catch (error) {
        if (this.abort.signal.aborted) return;
        this.deps.logger.error(
          { source: 'images', repository, err: error },
          `image automation: looking at ${repository} failed: ${(error as Error).message}`,
        );
      } finally {
        this.queue.done(repository);
        this.queue.forget(repository);
      }
      if (standby) this.queue.addAfter(repository, STANDBY_RECHECK_MS);
      else this.scheduleNext(repository, this.followed(), next);
    }
  }

  /** One look at `repository` for every app following it; resolves with what bears on the next look. */
  private async look(repository: string): Promise<NextLook> {
    const { clock, state, tags, logger } = this.deps;
    const metrics = this.deps.metrics ?? noImageMetrics;
    const apps = this.followed().get(repository) ?? [];
    if (apps.length === 0) return {};
    const now = clock.now();
    const previous = state.repository(repository);
    this.looked.add(repository);
    let listed: string[];
    try {
      listed = await candidateTags(tags, repository, this.abort.signal);
    } catch (error) {
      if (this.abort.signal.aborted) throw error;
      const message = (error as Error).message;
      const kind = error instanceof RegistryError ? error.kind : 'unreachable';
      metrics.looked(repository, kind.replaceAll('-', '_'));
      state.setRepository(repository, { firstSeen: previous?.firstSeen ?? {}, lastLookAt: now, error: message });
      for (const app of apps) this.recordFailure(app, message, now);
      if (this.failing.get(repository) !== message) {
        this.failing.set(repository, message);
        logger.warn({ source: 'images', repository }, `image automation: ${message}; tags stay as they are`);
        for (const app of apps)
          this.deps.events.emit({
            type: 'image.policy_failed',
            app: app.name,
            message: `${app.name}: the image policy cannot look at ${repository}: ${message}; the tag stays ${app.spec.tag}`,
            details: { image: repository, reason: message, tag: app.spec.tag },
          });
      }
      const retryAfterMs =
        error instanceof RegistryError
          ? (error.retryAfterMs ?? (error.kind === 'rate-limited' ? RATE_LIMITED_WAIT_MS : undefined))
          : undefined;
      if (retryAfterMs !== undefined) this.notBefore.set(repository, now + retryAfterMs);
      return {};
    }
    this.notBefore.delete(repository);
    metrics.looked(repository, 'ok');
    if (this.failing.delete(repository))
      logger.info({ source: 'images', repository }, `image automation: ${repository} answers again`);
    const firstSeen = remember(previous, listed, now);
    state.setRepository(repository, { firstSeen, lastLookAt: now });
    const maturing: number[] = [];
    for (const app of apps) {
      const maturesAt = await this.judge(app, listed, firstSeen, now);
      if (maturesAt !== undefined) maturing.push(maturesAt);
    }
    return maturing.length > 0 ? { maturesAt: Math.min(...maturing) } : {};
  }

  /** Judges one app on the look, and writes its new tag when the policy moves it; resolves with when a tag it waits for comes of age. */
  private async judge(
    app: App,
    candidates: string[],
    firstSeen: Record<string, number>,
    now: number,
  ): Promise<number | undefined> {
    const { state, logger, events } = this.deps;
    const metrics = this.deps.metrics ?? noImageMetrics;
    const policy = app.spec.imagePolicy!;
    const record = state.get(app.name);
    const previous = record?.imagePolicy;
    const judged = judgeApp({
      policy,
      tag: app.spec.tag,
      ...(previous ? { previous } : {}),
      candidates,
      firstSeen,
      history: record?.history ?? [],
      now,
    });
    if (judged.rolledBackFrom !== undefined)
      logger.info(
        { source: 'images', app: app.name, from: judged.rolledBackFrom, to: app.spec.tag, floor: judged.record.floor },
        `${app.name}: the tag was moved back from ${judged.rolledBackFrom} to ${app.spec.tag}; the policy waits for a tag newer than ${judged.record.floor}`,
      );
    const { decision } = judged;
    if (decision.kind === 'wait') {
      this.record(app, judged.record);
      return decision.maturesAt;
    }
    const to = decision.tag;
    try {
      const digest = app.spec.digest !== undefined ? await this.digestOf(app, to) : undefined;
      const move: TagMove = {
        app,
        from: app.spec.tag,
        to,
        policy: judged.record.policy,
        ...(digest ? { digest } : {}),
      };
      // The look took registry round trips: leading then is not leading now (leader election).
      if (this.deps.mayWrite !== undefined && !this.deps.mayWrite()) {
        logger.info(
          { source: 'images', app: app.name, to },
          `${app.name}: not writing ${to}: this berth is standby now`,
        );
        return undefined;
      }
      const written = await this.deps.writer.write(move, this.abort.signal);
      const where = describeWritten(written);
      const writtenRecord: NonNullable<ImagePolicyRecord['written']> = {
        from: move.from,
        to,
        at: now,
        ...(written.kind === 'file' ? { file: written.file } : {}),
        ...(written.kind !== 'file' ? { branch: written.branch } : {}),
        ...(written.kind !== 'file' && written.commit !== undefined ? { commit: written.commit } : {}),
      };
      // A tag written past the floor ends it; a proposal leaves the manifest, and so the floor, as they are.
      const { floor: _passed, ...recordWithoutFloor } = judged.record;
      this.record(app, {
        ...(written.kind === 'proposed' ? judged.record : recordWithoutFloor),
        waiting:
          written.kind === 'proposed'
            ? `${to} proposed on branch ${written.branch}: deployed once it is merged`
            : `${to} written; deploying`,
        written: writtenRecord,
      });
      if (written.kind !== 'file' && written.unchanged) return undefined;
      metrics.updated(app.name, written.kind === 'proposed' ? 'proposed' : 'written');
      logger.info(
        { source: 'images', app: app.name, from: move.from, to, policy: move.policy },
        `${app.name}: image policy ${move.policy} moved the tag from ${move.from} to ${to} (${where})`,
      );
      events.emit({
        type: 'image.updated',
        app: app.name,
        message: `${app.name}: ${move.from} -> ${to} by image policy ${move.policy} (${where})`,
        details: {
          image: app.spec.image,
          from: move.from,
          to,
          policy: move.policy,
          ...(digest ? { digest } : {}),
          ...(written.kind === 'file' ? { file: written.file } : {}),
          ...(written.kind !== 'file' ? { branch: written.branch } : {}),
          ...(written.kind !== 'file' && written.commit !== undefined ? { commit: written.commit } : {}),
          proposed: written.kind === 'proposed',
        },
      });
    } catch (error: unknown) {
      if (this.abort.signal.aborted) throw error;
      if (error instanceof WriteBackError && error.kind === 'stale') {
        // Someone changed the manifest since this look (a person's edit, a revert): the next look judges it.
        logger.info({ source: 'images', app: app.name, to }, `${app.name}: not writing ${to}: ${error.message}`);
        this.record(app, { ...judged.record, waiting: `not written: ${error.message}` });
        return undefined;
      }
      const message = `writing ${to} into the manifest failed: ${(error as Error).message}`;
      metrics.updated(app.name, 'failed');
      const alreadySaid = previous?.error === message;
      this.record(app, { ...judged.record, error: message });
      logger.warn({ source: 'images', app: app.name, to }, `${app.name}: ${message}`);
      if (!alreadySaid)
        events.emit({
          type: 'image.policy_failed',
          app: app.name,
          message: `${app.name}: ${message}; the tag stays ${app.spec.tag}`,
          details: { image: app.spec.image, to, reason: message, tag: app.spec.tag },
        });
    }
  }

  private async digestOf(app: App, tag: string): Promise<string> {
    const digest = await this.deps.tags.digest(app.spec.image, tag);
    if (digest === undefined)
      throw new Error(`the manifest pins a digest, and the digest of ${app.spec.image}:${tag} cannot be found`);
    return digest;
  }

  /** Records the app's policy state, if the app still has a record or a manifest (never revives a removed app). */
  private record(app: App, imagePolicy: ImagePolicyRecord): void {
    const { state, clock } = this.deps;
    if (!this.deps.apps().some((a) => a.name === app.name)) return;
    const current = state.get(app.name);
    if (current && JSON.stringify(current.imagePolicy) === JSON.stringify(imagePolicy)) return;
    if (current) state.update(app.name, { imagePolicy }, clock.now());
    else
      state.update(
        app.name,
        { phase: 'Pending', message: 'waiting for its first reconcile', imagePolicy },
        clock.now(),
      );
  }

  private recordFailure(app: App, error: string, now: number): void {
    const previous = this.deps.state.get(app.name)?.imagePolicy;
    this.record(app, {
      policy: previous?.policy ?? '',
      tag: previous?.tag ?? app.spec.tag,
      ...previous,
      lastLookAt: now,
      error,
    });
  }
}

/** The first-seen times after a look: new tags are first seen now; the most tags remembered is bounded. */
function remember(
  previous: RepositoryRecord | undefined,
  listed: readonly string[],
  now: number,
): Record<string, number> {
  const seen: Record<string, number> = { ...previous?.firstSeen };
  for (const tag of listed) if (seen[tag] === undefined) seen[tag] = now;
  const entries = Object.entries(seen);
  if (entries.length <= TAGS_REMEMBERED) return seen;
  return Object.fromEntries(entries.sort(([, a], [, b]) => b - a).slice(0, TAGS_REMEMBERED));
}

/** `team/web` of `127.0.0.1:5000/team/web`, `library/nginx` of `nginx`: the name a registry's notification gives. */
function pathOf(repository: string): string {
  try {
    return registryRepository(repository).name;
  } catch {
    return repository;
  }
}

function describeWritten(written: WrittenMove): string {
  switch (written.kind) {
    case 'file':
      return `written to ${written.file}`;
    case 'commit':
      return `commit ${written.commit?.slice(0, 7) ?? '(none)'} pushed to ${written.branch}`;
    case 'proposed':
      return `proposed on branch ${written.branch}${written.commit ? ` as ${written.commit.slice(0, 7)}` : ''}`;
  }
}
