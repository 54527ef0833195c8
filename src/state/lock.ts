/**
 * One controller per namespace per host: `berth run` holds `<state-dir>/<namespace>/lock`, a file
 * created exclusively (0600) holding its pid and that process's start time (`/proc/<pid>/stat`,
 * field 22). A pid is reused once its process is gone, so a lock names a live holder only while a
 * process of that pid *and* that start time runs: otherwise it is stale and taken over, and
 * `retry`/`sync` signal no one (a reused pid may be any process; SIGUSR2 would kill it).
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StateStore } from './store.js';
import { LockHeldError } from './errors.js';
import { ensurePrivateDirectory } from '../util/private-dir.js';

interface Lock {
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
      await handle
        .writeFile(`${process.pid} ${(await startTime(process.pid)) ?? ''}\n`.replace(' \n', '\n'))
        .catch(() => undefined);
      await handle.close();
      return { file, release: () => unlink(file).catch(() => undefined) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = await liveHolder(await readFile(file, 'utf8').catch(() => ''));
      if (holder !== undefined && holder !== process.pid) throw new LockHeldError(holder, file, namespace);
      await unlink(file).catch(() => undefined);
    }
  }
  throw new Error(`could not take the lock ${file}`);
}

/** The pid of the live `berth run` holding the namespace's lock, or undefined when none does. */
export async function lockHolder(stateDir: string, namespace: string): Promise<number | undefined> {
  const file = join(StateStore.directory(stateDir, namespace), 'lock');
  return liveHolder(await readFile(file, 'utf8').catch(() => ''));
}

/**
 * The pid a lock file names, if that very process still runs: same pid and same start time. A lock
 * of an earlier version holds no start time; its pid counts only if that process is a `berth run`.
 */
async function liveHolder(text: string): Promise<number | undefined> {
  const [pidText = '', started] = text.trim().split(/\s+/);
  const pid = Number.parseInt(pidText, 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  if (started !== undefined) return (await startTime(pid)) === started ? pid : undefined;
  const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  return args.includes('run') && args.some((a) => /(^|\/)(berth|cli\.js)$/.test(a)) ? pid : undefined;
}

/** When process `pid` started, in clock ticks since boot (`/proc/<pid>/stat` field 22); undefined where /proc has no such process. */
async function startTime(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
