/**
 * One controller per namespace per host: `berth run` holds `<state-dir>/<namespace>/lock`, a file
 * created exclusively (0600) holding its pid. A lock whose pid is no longer alive is stale and
 * taken over.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StateStore } from './store.js';
import { LockHeldError } from './errors.js';
import { ensurePrivateDirectory } from '../util/private-dir.js';

export interface Lock {
  readonly file: string;
  release(): Promise<void>;
}

export async function acquireLock(stateDir: string, namespace: string): Promise<Lock> {
  const dir = StateStore.directory(stateDir, namespace);
  await ensurePrivateDirectory(dir, { create: true });
  const file = join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      // A full disk may refuse the pid; the lock is the file itself, so berth runs all the same.
      await handle.writeFile(`${process.pid}\n`).catch(() => undefined);
      await handle.close();
      return { file, release: () => unlink(file).catch(() => undefined) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) throw new LockHeldError(holder, file, namespace);
      await unlink(file).catch(() => undefined);
    }
  }
  throw new Error(`could not take the lock ${file}`);
}

/** The pid of the live `berth run` holding the namespace's lock, or undefined when none does. */
export async function lockHolder(stateDir: string, namespace: string): Promise<number | undefined> {
  const file = join(StateStore.directory(stateDir, namespace), 'lock');
  const holder = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
  return Number.isInteger(holder) && holder > 0 && isAlive(holder) ? holder : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
