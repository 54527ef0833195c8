/**
 * Directories only berth's user controls. berth is root and writes secrets, state, certificates
 * and caches: a directory another user could write, or a symbolic link another user planted on
 * the way to it, would let that user read what berth writes there or point berth's removals at
 * any path. So every such directory is checked from `/` down, one component at a time, with
 * `lstat` (links are never followed blindly):
 *
 * - each ancestor is a directory owned by root or by berth's user, and writable by no one else
 *   unless it has the sticky bit (`/tmp`, `/dev/shm`), where other users cannot move or remove
 *   what they do not own;
 * - a symbolic link on the way is followed only when the directory holding it is itself trusted
 *   in that sense (the operator's own `/var/run -> /run`), never in a world-writable directory;
 * - the directory itself is owned by berth's user, and writable by no one else (with `secret`,
 *   not even readable or searchable by anyone else).
 *
 * Missing components are created 0700 with `mkdir`, which fails rather than follows whatever
 * another user may have put there first.
 */
import { lstat, mkdir, readlink } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';

export class UnsafeDirectoryError extends Error {
  constructor(readonly path: string, readonly reason: string) {
    super(`${path}: ${reason}`);
    this.name = 'UnsafeDirectoryError';
  }
}

export interface PrivateDirectoryOptions {
  /** Create what is missing (0700). Otherwise a missing directory is an error. */
  create?: boolean;
  /** No access at all for group or others (decrypted secrets); otherwise only no write access. */
  secret?: boolean;
  /** berth's user; process.getuid() by default. */
  uid?: number;
}

/** Symbolic links followed on the way to one directory at most, as the kernel's own limit. */
const MAX_LINKS = 40;

/**
 * Checks (and with `create`, makes) `dir` as described above. Resolves to the directory's real
 * path (the operator's trusted links followed); throws UnsafeDirectoryError naming the first
 * component that fails and why.
 */
export async function ensurePrivateDirectory(dir: string, options: PrivateDirectoryOptions = {}): Promise<string> {
  const uid = options.uid ?? process.getuid?.() ?? 0;
  let pending = components(resolve(dir));
  let current: string = sep;
  await checkTrusted(current, await lstatOrUndefined(current), uid);
  let links = 0;
  while (pending.length > 0) {
    const [name, ...rest] = pending;
    pending = rest;
    const next = join(current, name as string);
    const isLast = pending.length === 0;
    let stats = await lstatOrUndefined(next);
    if (stats === undefined) {
      if (!options.create) throw new UnsafeDirectoryError(next, 'does not exist');
      try {
        await mkdir(next, { mode: 0o700 });
      } catch (error) {
        // Someone made it between the look and the mkdir: it is judged below like any other.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new UnsafeDirectoryError(next, `cannot create it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
      stats = await lstatOrUndefined(next);
      if (stats === undefined) throw new UnsafeDirectoryError(next, 'vanished while it was being created');
    }
    if (stats.isSymbolicLink()) {
      const parent = await lstatOrUndefined(current);
      if (parent === undefined || writableByOthers(parent.mode)) throw new UnsafeDirectoryError(next, `is a symbolic link in ${current}, which other users can write`);
      if (parent.uid !== 0 && parent.uid !== uid) throw new UnsafeDirectoryError(next, `is a symbolic link in ${current}, owned by uid ${parent.uid}`);
      if (++links > MAX_LINKS) throw new UnsafeDirectoryError(next, 'too many symbolic links');
      const target = await readlink(next);
      const absolute = isAbsolute(target) ? resolve(target) : resolve(current, target);
      // Walk the target from the top again: every component of it is judged the same way.
      pending = [...components(absolute), ...pending];
      current = sep;
      continue;
    }
    if (!stats.isDirectory()) throw new UnsafeDirectoryError(next, 'is not a directory');
    if (isLast) {
      if (stats.uid !== uid) throw new UnsafeDirectoryError(next, `is owned by uid ${stats.uid}, not by berth's user (uid ${uid})`);
      const forbidden = options.secret ? 0o077 : 0o022;
      if ((stats.mode & forbidden) !== 0) {
        const mode = (stats.mode & 0o7777).toString(8).padStart(4, '0');
        throw new UnsafeDirectoryError(next, `has mode ${mode}: ${options.secret ? 'other users can reach into it' : 'other users can write it'} (chmod ${options.secret ? '700' : 'go-w'} ${next})`);
      }
    } else {
      await checkTrusted(next, stats, uid);
    }
    current = next;
  }
  return current;
}

/** A directory a berth-owned path may pass through: root's or berth's, and only writable by others when sticky. */
async function checkTrusted(path: string, stats: Awaited<ReturnType<typeof lstat>> | undefined, uid: number): Promise<void> {
  if (stats === undefined || !stats.isDirectory()) throw new UnsafeDirectoryError(path, 'is not a directory');
  if (stats.uid !== 0 && stats.uid !== uid) throw new UnsafeDirectoryError(path, `is owned by uid ${stats.uid}, neither root nor berth's user`);
  if (writableByOthers(Number(stats.mode)) && (Number(stats.mode) & 0o1000) === 0) throw new UnsafeDirectoryError(path, 'is writable by other users and not sticky (chmod go-w, or +t)');
}

function writableByOthers(mode: number | bigint): boolean {
  return (Number(mode) & 0o022) !== 0;
}

function components(absolute: string): string[] {
  return absolute.split(sep).filter((c) => c !== '' && c !== '.');
}

async function lstatOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UnsafeDirectoryError(path, `cannot be examined (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}
