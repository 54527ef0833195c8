/**
 * berth's own memory per namespace: each app's phase, last error, serving revision and deploy
 * history, in `<state-dir>/<namespace>/state.json`. Every write replaces the file atomically
 * (write a temp file, fsync, rename); the directory is private to its owner (0700, files 0600).
 * Losing the file loses history, never correctness: Docker's labels hold what reconcile needs.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { HISTORY_LIMIT, type AppRecord, type DeployRecord, type EngineRecord } from './types.js';

interface StateFile {
  version: 1;
  apps: Record<string, AppRecord>;
  engine?: EngineRecord;
}

export class StateStore {
  private readonly apps = new Map<string, AppRecord>();
  private engineRecord: EngineRecord | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private readonly listeners = new Set<() => void>();

  private constructor(readonly file: string) {}

  /** The namespace's state directory under `stateDir` (`open` creates it 0700; `read` never creates it). */
  static directory(stateDir: string, namespace: string): string {
    return join(stateDir, namespace);
  }

  static async open(stateDir: string, namespace: string): Promise<StateStore> {
    const dir = StateStore.directory(stateDir, namespace);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const store = new StateStore(join(dir, 'state.json'));
    await store.load();
    return store;
  }

  /** Reads the state of a namespace without creating anything (`status`, `plan`); unreadable state reads as empty. */
  static async read(stateDir: string, namespace: string): Promise<StateStore> {
    const store = new StateStore(join(StateStore.directory(stateDir, namespace), 'state.json'));
    await store.load().catch(() => undefined);
    return store;
  }

  private async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as StateFile;
      for (const [name, record] of Object.entries(parsed.apps ?? {})) this.apps.set(name, record);
      this.engineRecord = parsed.engine;
    } catch {
      // A corrupt state file is treated as lost: history goes, correctness stays.
    }
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

  names(): string[] {
    return [...this.apps.keys()].sort();
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

  /** Resolves once everything updated so far is on disk. */
  async flush(): Promise<void> {
    await this.writing;
    if (this.dirty) {
      this.scheduleWrite();
      await this.writing;
    }
  }

  private scheduleWrite(): void {
    for (const listener of this.listeners) listener();
    if (this.dirty) return;
    this.dirty = true;
    this.writing = this.writing.then(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      this.dirty = false;
      const snapshot: StateFile = {
        version: 1,
        apps: Object.fromEntries([...this.apps].sort(([a], [b]) => a.localeCompare(b))),
        ...(this.engineRecord ? { engine: this.engineRecord } : {}),
      };
      await writeAtomically(this.file, JSON.stringify(snapshot, null, 2) + '\n');
    });
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}
