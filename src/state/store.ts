/**
 * berth's own memory per namespace: each app's phase, last error, serving revision and deploy
 * history, in `<state-dir>/<namespace>/state.json`. Every write replaces the file atomically
 * (src/util/atomic-file.ts); the directory is private to its owner (0700, files 0600).
 * Losing the file loses history, never correctness: Docker's labels hold what reconcile needs.
 *
 * The host's faults never end the process: the record lives in memory and a write that fails
 * (a full disk, a read-only filesystem) is logged once, reported by `writeFailure()`, and retried
 * with backoff until the file catches up by itself. A state file that cannot be read as state is
 * moved aside (`state.json.corrupt-<time>`), never silently replaced.
 */
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/silent-logger.js';
import type { SourceCondition } from '../source/types.js';
import type { BerthEvent } from '../events/types.js';
import {
  HISTORY_LIMIT,
  type AppRecord,
  type DeployRecord,
  type EngineRecord,
  type CertificateRecord,
  type RepositoryRecord,
} from './types.js';
import { ensurePrivateDirectory } from '../util/private-dir.js';
import { writeFileAtomically } from '../util/atomic-file.js';

interface StateStoreOptions {
  logger?: Logger;
}

/** A write of the state file that failed, and is being retried. */
interface WriteFailure {
  /** One line: the path and the reason. */
  message: string;
  /** Milliseconds since the epoch of the first failure in a row. */
  since: number;
}

/** Backoff between retries of a failed write: 1 s doubling to 30 s. */
/** Events kept in the state file's timeline. */
const EVENTS_KEPT = 300;
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 30_000;

interface StateFile {
  version: 1;
  apps: Record<string, AppRecord>;
  engine?: EngineRecord;
  certificates?: CertificateRecord[];
  source?: SourceCondition;
  events?: BerthEvent[];
  /** Image automation's repositories, by repository. */
  repositories?: Record<string, RepositoryRecord>;
}

export class StateStore {
  private readonly apps = new Map<string, AppRecord>();
  private engineRecord: EngineRecord | undefined;
  private certificateRecords: CertificateRecord[] = [];
  private sourceRecord: SourceCondition | undefined;
  private eventRecords: BerthEvent[] = [];
  private repositoryRecords: Record<string, RepositoryRecord> = {};
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private readonly listeners = new Set<() => void>();
  private failure: WriteFailure | undefined;
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;

  private constructor(
    readonly file: string,
    private readonly logger: Logger = silentLogger(),
  ) {}

  /** The namespace's state directory under `stateDir` (`open` creates it 0700; `read` never creates it). */
  static directory(stateDir: string, namespace: string): string {
    return join(stateDir, namespace);
  }

  /** The store `berth run` writes; a state file that is not state is moved aside with a warning. */
  static async open(stateDir: string, namespace: string, options: StateStoreOptions = {}): Promise<StateStore> {
    const dir = StateStore.directory(stateDir, namespace);
    await ensurePrivateDirectory(dir, { create: true });
    const store = new StateStore(join(dir, 'state.json'), options.logger);
    const problem = await store.load();
    if (problem !== undefined) await store.moveAside(problem);
    return store;
  }

  /** Reads the state of a namespace without creating or moving anything (`status`, `plan`); unreadable state reads as empty. */
  static async read(stateDir: string, namespace: string): Promise<StateStore> {
    const store = new StateStore(join(StateStore.directory(stateDir, namespace), 'state.json'));
    await store.load().catch(() => undefined);
    return store;
  }

  /** Loads the file; resolves with why it is not state (truncated, not JSON, wrong shape), or undefined. */
  private async load(): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return `not JSON (${(error as Error).message})`;
    }
    const apps = (parsed as Partial<StateFile> | null)?.apps;
    if (
      typeof parsed !== 'object' ||
      parsed === null ||
      typeof apps !== 'object' ||
      apps === null ||
      Array.isArray(apps)
    )
      return 'not a berth state file (no "apps" object)';
    for (const [name, record] of Object.entries(apps)) this.apps.set(name, migrated(record));
    this.engineRecord = (parsed as StateFile).engine;
    this.certificateRecords = (parsed as StateFile).certificates ?? [];
    this.sourceRecord = (parsed as StateFile).source;
    this.eventRecords = (parsed as StateFile).events ?? [];
    const repositories = (parsed as StateFile).repositories;
    this.repositoryRecords = typeof repositories === 'object' && repositories !== null ? repositories : {};
    return undefined;
  }

  /** Keeps an unreadable state file beside the new one, and says what was lost. */
  private async moveAside(problem: string): Promise<void> {
    const kept = `${this.file}.corrupt-${new Date().toISOString().replaceAll(':', '-')}`;
    try {
      await rename(this.file, kept);
    } catch (error) {
      this.logger.warn(
        { source: 'state', path: this.file, reason: problem, err: error },
        `the state file ${this.file} is ${problem} and could not be moved aside (${(error as Error).message}); starting afresh: its deploy history is lost, running apps are re-checked from their labels`,
      );
      return;
    }
    this.logger.warn(
      { source: 'state', path: this.file, movedTo: kept, reason: problem },
      `the state file ${this.file} is ${problem}; moved it to ${kept} and started afresh: the deploy history it held is lost, running apps are re-checked from their labels`,
    );
  }

  /** The write that is failing now (retried with backoff), or undefined when the file is current or being written. */
  writeFailure(): WriteFailure | undefined {
    return this.failure;
  }

  get(name: string): AppRecord | undefined {
    return this.apps.get(name);
  }

  /** Whether the running controller reaches the Docker engine, as it last recorded. */
  engine(): EngineRecord | undefined {
    return this.engineRecord;
  }

  setEngine(record: EngineRecord): void {
    if (this.engineRecord?.reachable === record.reachable && this.engineRecord.error === record.error) return;
    this.engineRecord = record;
    this.scheduleWrite();
  }

  /** The domains' certificates, as the running controller last recorded them, by domain. */
  certificates(): CertificateRecord[] {
    return this.certificateRecords;
  }

  setCertificates(records: CertificateRecord[]): void {
    const sorted = [...records].sort((a, b) => a.domain.localeCompare(b.domain));
    if (JSON.stringify(sorted) === JSON.stringify(this.certificateRecords)) return;
    this.certificateRecords = sorted;
    this.scheduleWrite();
  }

  /** The timeline: what happened, newest last, the last EVENTS_KEPT. */
  events(): BerthEvent[] {
    return this.eventRecords;
  }

  appendEvent(event: BerthEvent): void {
    this.eventRecords = [...this.eventRecords, event].slice(-EVENTS_KEPT);
    this.scheduleWrite();
  }

  /** The git source's condition, as the running controller last recorded it. */
  source(): SourceCondition | undefined {
    return this.sourceRecord;
  }

  setSource(condition: SourceCondition): void {
    if (JSON.stringify(condition) === JSON.stringify(this.sourceRecord)) return;
    this.sourceRecord = condition;
    this.scheduleWrite();
  }

  names(): string[] {
    return [...this.apps.keys()].sort();
  }

  /** A repository image automation follows, as last listed. */
  repository(name: string): RepositoryRecord | undefined {
    return this.repositoryRecords[name];
  }

  setRepository(name: string, record: RepositoryRecord): void {
    if (JSON.stringify(record) === JSON.stringify(this.repositoryRecords[name])) return;
    this.repositoryRecords = { ...this.repositoryRecords, [name]: record };
    this.scheduleWrite();
  }

  /** Forgets the repositories no policy follows any more. */
  keepRepositories(followed: ReadonlySet<string>): void {
    const kept = Object.entries(this.repositoryRecords).filter(([name]) => followed.has(name));
    if (kept.length === Object.keys(this.repositoryRecords).length) return;
    this.repositoryRecords = Object.fromEntries(kept);
    this.scheduleWrite();
  }

  /** Merges `patch` into the app's record; `since` moves when the phase changes. */
  update(name: string, patch: Partial<Omit<AppRecord, 'history' | 'since'>>, now: number): AppRecord {
    const previous = this.apps.get(name);
    const phaseChanged = patch.phase !== undefined && patch.phase !== previous?.phase;
    const record: AppRecord = {
      phase: 'Pending',
      message: '',
      history: [],
      ...previous,
      ...patch,
      since: phaseChanged || !previous ? now : previous.since,
    };
    this.apps.set(name, record);
    this.scheduleWrite();
    return record;
  }

  /** Drops fields from the app's record (e.g. `lastError` after a success). */
  clear(name: string, fields: (keyof AppRecord)[]): void {
    const record = this.apps.get(name);
    if (!record) return;
    for (const field of fields) delete record[field];
    this.scheduleWrite();
  }

  appendHistory(name: string, entry: DeployRecord): void {
    const record = this.apps.get(name);
    if (!record) return;
    record.history = [entry, ...record.history].slice(0, HISTORY_LIMIT);
    this.scheduleWrite();
  }

  delete(name: string): void {
    if (this.apps.delete(name)) this.scheduleWrite();
  }

  /** Calls `listener` synchronously after every change (several may come in one tick); returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves once everything updated so far is on disk, or once one more attempt has failed
   * (a failing write is retried in the background; stopping never waits for the disk).
   */
  async flush(): Promise<void> {
    await this.writing;
    if (this.dirty || this.failure) {
      this.scheduleWrite(false);
      await this.writing;
    }
  }

  /** Stops retrying a failed write (the process is stopping). */
  close(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
  }

  private scheduleWrite(changed = true): void {
    if (changed) for (const listener of this.listeners) listener();
    if (this.dirty) return;
    this.dirty = true;
    this.writing = this.writing.then(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      this.dirty = false;
      const snapshot: StateFile = {
        version: 1,
        apps: Object.fromEntries([...this.apps].sort(([a], [b]) => a.localeCompare(b))),
        ...(this.engineRecord ? { engine: this.engineRecord } : {}),
        ...(this.certificateRecords.length > 0 ? { certificates: this.certificateRecords } : {}),
        ...(this.sourceRecord ? { source: this.sourceRecord } : {}),
        ...(this.eventRecords.length > 0 ? { events: this.eventRecords } : {}),
        ...(Object.keys(this.repositoryRecords).length > 0 ? { repositories: this.repositoryRecords } : {}),
      };
      try {
        await writeFileAtomically(this.file, `${JSON.stringify(snapshot, null, 2)}\n`, 0o600);
        this.written();
      } catch (error) {
        this.failed(error as Error);
      }
    });
  }

  private written(): void {
    this.failures = 0;
    clearTimeout(this.retry);
    this.retry = undefined;
    if (!this.failure) return;
    this.logger.info(
      { source: 'state', path: this.file, failingSinceMs: this.failure.since },
      `the state file ${this.file} is written again`,
    );
    this.failure = undefined;
    for (const listener of this.listeners) listener();
  }

  private failed(error: Error): void {
    this.failures++;
    const message = `cannot write the state file ${this.file}: ${error.message}`;
    if (!this.failure) {
      this.failure = { message, since: Date.now() };
      this.logger.error(
        { source: 'state', path: this.file, err: error },
        `${message}; berth goes on from memory and retries`,
      );
      for (const listener of this.listeners) listener();
    } else {
      this.failure = { ...this.failure, message };
    }
    clearTimeout(this.retry);
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failures - 1));
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.scheduleWrite(false);
    }, delay);
    this.retry.unref();
  }
}

/** A record as an older berth wrote it, in today's spelling: a rolled-back deploy said `rolled back` (with a space). */
function migrated(record: AppRecord): AppRecord {
  const history = Array.isArray(record?.history) ? record.history : undefined;
  if (!history?.some((h) => (h.outcome as string) === 'rolled back')) return record;
  return {
    ...record,
    history: history.map(
      (h): DeployRecord => ((h.outcome as string) === 'rolled back' ? { ...h, outcome: 'rolled_back' } : h),
    ),
  };
}
