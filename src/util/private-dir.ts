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
 *
 * The walk is written once, as a generator of the file-system steps it needs; `ensurePrivateDirectory`
 * runs it with `fs/promises`, `ensurePrivateDirectorySync` with the synchronous calls (for the
 * launcher's code cache, whose write runs in an `exit` handler, where nothing asynchronous can).
 */
import { lstatSync, mkdirSync, readlinkSync, type Stats } from 'node:fs';
import { lstat, mkdir, readlink } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';

export class UnsafeDirectoryError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'UnsafeDirectoryError';
  }
}

interface PrivateDirectoryOptions {
  /** Create what is missing (0700). Otherwise a missing directory is an error. */
  create?: boolean;
  /** No access at all for group or others (decrypted secrets); otherwise only no write access. */
  secret?: boolean;
  /** berth's user; process.getuid() by default. */
  uid?: number;
  /**
   * Judge the directory itself as the ones on the way to it (owned by root or berth's user, not
   * writable by others unless sticky) rather than as berth's own: a place berth reads from or lets
   * containers mount, not one it keeps secrets in. Never created.
   */
  trustedOnly?: boolean;
}

/** Symbolic links followed on the way to one directory at most, as the kernel's own limit. */
const MAX_LINKS = 40;

/**
 * Checks (and with `create`, makes) `dir` as described above. Resolves to the directory's real
 * path (the operator's trusted links followed); throws UnsafeDirectoryError naming the first
 * component that fails and why.
 */
export async function ensurePrivateDirectory(dir: string, options: PrivateDirectoryOptions = {}): Promise<string> {
  const walk = walkTo(dir, options);
  for (let step = walk.next(); ; ) {
    if (step.done) return step.value;
    let result: Stats | string | undefined;
    try {
      result =
        step.value.op === 'lstat'
          ? await lstat(step.value.path)
          : step.value.op === 'readlink'
            ? await readlink(step.value.path)
            : void (await mkdir(step.value.path, { mode: 0o700 }));
    } catch (error) {
      step = walk.throw(error);
      continue;
    }
    step = walk.next(result);
  }
}

/** ensurePrivateDirectory, with synchronous calls: the same checks, the same errors. */
export function ensurePrivateDirectorySync(dir: string, options: PrivateDirectoryOptions = {}): string {
  const walk = walkTo(dir, options);
  for (let step = walk.next(); ; ) {
    if (step.done) return step.value;
    let result: Stats | string | undefined;
    try {
      result =
        step.value.op === 'lstat'
          ? lstatSync(step.value.path)
          : step.value.op === 'readlink'
            ? readlinkSync(step.value.path)
            : void mkdirSync(step.value.path, { mode: 0o700 });
    } catch (error) {
      step = walk.throw(error);
      continue;
    }
    step = walk.next(result);
  }
}

/** One file-system call the walk needs; its result (or its error, thrown in) is handed back. */
type Step = { op: 'lstat' | 'readlink' | 'mkdir'; path: string };
type Walk<T> = Generator<Step, T, Stats | string | undefined>;

function* walkTo(dir: string, options: PrivateDirectoryOptions): Walk<string> {
  const uid = options.uid ?? process.getuid?.() ?? 0;
  let pending = components(resolve(dir));
  let current: string = sep;
  checkTrusted(current, yield* lstatOrUndefined(current), uid);
  let links = 0;
  while (pending.length > 0) {
    const [name, ...rest] = pending;
    pending = rest;
    const next = join(current, name as string);
    const isLast = pending.length === 0;
    let stats = yield* lstatOrUndefined(next);
    if (stats === undefined) {
      if (!options.create || options.trustedOnly) throw new UnsafeDirectoryError(next, 'does not exist');
      try {
        yield { op: 'mkdir', path: next };
      } catch (error) {
        // Someone made it between the look and the mkdir: it is judged below like any other.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
          throw new UnsafeDirectoryError(
            next,
            `cannot create it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
          );
      }
      stats = yield* lstatOrUndefined(next);
      if (stats === undefined) throw new UnsafeDirectoryError(next, 'vanished while it was being created');
    }
    if (stats.isSymbolicLink()) {
      const parent = yield* lstatOrUndefined(current);
      if (parent === undefined || writableByOthers(parent.mode))
        throw new UnsafeDirectoryError(next, `is a symbolic link in ${current}, which other users can write`);
      if (parent.uid !== 0 && parent.uid !== uid)
        throw new UnsafeDirectoryError(next, `is a symbolic link in ${current}, owned by uid ${parent.uid}`);
      if (++links > MAX_LINKS) throw new UnsafeDirectoryError(next, 'too many symbolic links');
      const target = (yield { op: 'readlink', path: next }) as string;
      const absolute = isAbsolute(target) ? resolve(target) : resolve(current, target);
      // Walk the target from the top again: every component of it is judged the same way.
      pending = [...components(absolute), ...pending];
      current = sep;
      continue;
    }
    if (!stats.isDirectory()) throw new UnsafeDirectoryError(next, 'is not a directory');
    if (isLast && !options.trustedOnly) {
      if (stats.uid !== uid)
        throw new UnsafeDirectoryError(next, `is owned by uid ${stats.uid}, not by berth's user (uid ${uid})`);
      const forbidden = options.secret ? 0o077 : 0o022;
      if ((stats.mode & forbidden) !== 0) {
        const mode = (stats.mode & 0o7777).toString(8).padStart(4, '0');
        throw new UnsafeDirectoryError(
          next,
          `has mode ${mode}: ${options.secret ? 'other users can reach into it' : 'other users can write it'} (chmod ${options.secret ? '700' : 'go-w'} ${next})`,
        );
      }
    } else {
      checkTrusted(next, stats, uid);
    }
    current = next;
  }
  return current;
}

/** A directory a berth-owned path may pass through: root's or berth's, and only writable by others when sticky. */
function checkTrusted(path: string, stats: Stats | undefined, uid: number): void {
  if (stats === undefined || !stats.isDirectory()) throw new UnsafeDirectoryError(path, 'is not a directory');
  if (stats.uid !== 0 && stats.uid !== uid)
    throw new UnsafeDirectoryError(path, `is owned by uid ${stats.uid}, neither root nor berth's user`);
  if (writableByOthers(Number(stats.mode)) && (Number(stats.mode) & 0o1000) === 0)
    throw new UnsafeDirectoryError(path, 'is writable by other users and not sticky (chmod go-w, or +t)');
}

function writableByOthers(mode: number | bigint): boolean {
  return (Number(mode) & 0o022) !== 0;
}

function components(absolute: string): string[] {
  return absolute.split(sep).filter((c) => c !== '' && c !== '.');
}

function* lstatOrUndefined(path: string): Walk<Stats | undefined> {
  try {
    return (yield { op: 'lstat', path }) as Stats;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UnsafeDirectoryError(
      path,
      `cannot be examined (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
}
