/**
 * Loads a CommonJS bundle the way Node's loader would, but compiled through V8's code cache:
 * the first run compiles as usual and, at exit, writes what V8 compiled (the top level and every
 * function that ran) to the cache file; later runs start from it and compile only what the cache
 * lacks. Node 22 does this for every module (`module.enableCompileCache`); Node 20 has only
 * `vm.Script`'s `cachedData`, for scripts, hence bundles in CommonJS.
 *
 * A cache is code berth runs, so it is used only from a directory that is the user's own: checked
 * from `/` down as berth's private directories are (src/util/private-dir.ts: every ancestor
 * root's or the user's and writable by no one else unless sticky, the directory itself the
 * user's and writable by no one else; made 0700 when missing). A directory that fails is neither
 * read nor written. A cache file is opened without following a link, and read only if it is a
 * regular file of the user's that no one else may write; it is written to a temporary file of an
 * unpredictable name, created exclusively and without following a link, then renamed over it.
 *
 * A cache is only ever a speed-up: one that is missing, unreadable, owned by another user, in a
 * directory that fails, or that V8 refuses (another V8, other flags) is ignored (and written anew
 * where the directory allows); one that cannot be written is not written. None of that is reported.
 */
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { ensurePrivateDirectorySync } from '../util/private-dir.js';

export interface CodeCache {
  file: string;
  /** Whether a file in the cache directory is a cache of an older build of this bundle (removed when this one is written). */
  isStale: (name: string) => boolean;
}

/** What became of the code cache in one load; `unusable`: its directory is not the user's own (or cannot be made), so it is neither read nor written. */
export type CacheUse = 'off' | 'used' | 'missing' | 'refused' | 'unusable';

/**
 * Runs the CommonJS bundle `file` and returns its `module.exports`; `cache` undefined: no code
 * cache. A cache that was missing or refused is written by the function handed to `atExit`
 * (by default when the process exits, so it holds every function the run compiled).
 */
export function loadBundle(
  file: string,
  cache: CodeCache | undefined,
  atExit: (write: () => void) => void = (write) => process.once('exit', write),
): { exports: unknown; cacheUse: CacheUse } {
  const source = readFileSync(file, 'utf8');
  const dir = cache === undefined ? undefined : ownDirectory(dirname(cache.file));
  const cachedData =
    cache === undefined || dir === undefined ? undefined : readOwnFile(join(dir, basename(cache.file)));
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData !== undefined && { cachedData }),
  });
  const cacheUse: CacheUse =
    cache === undefined
      ? 'off'
      : dir === undefined
        ? 'unusable'
        : cachedData === undefined
          ? 'missing'
          : script.cachedDataRejected === true
            ? 'refused'
            : 'used';
  if (cache !== undefined && (cacheUse === 'missing' || cacheUse === 'refused'))
    atExit(() => writeCacheFile(cache.file, () => script.createCachedData(), cache.isStale));
  const module = { exports: {} as unknown };
  (script.runInThisContext() as (...args: unknown[]) => void)(
    module.exports,
    createRequire(file),
    module,
    file,
    dirname(file),
  );
  return { exports: module.exports, cacheUse };
}

/** `dir`'s real path if it is (or, missing, is made) the user's own as private-dir.ts checks it; otherwise undefined. */
function ownDirectory(dir: string): string | undefined {
  try {
    return ensurePrivateDirectorySync(dir, { create: true });
  } catch {
    return undefined;
  }
}

/** The file's bytes if it is a regular file (not a link) this user owns and no one else may write; otherwise undefined. */
function readOwnFile(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || (process.getuid !== undefined && stat.uid !== process.getuid()) || (stat.mode & 0o022) !== 0)
      return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Exclusive (fails on anything at the name, a link included) and never through a link. */
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Writes the cache `file` whole or not at all, only in a directory that is the user's own (checked
 * again just before): a temporary file of an unpredictable name (`tempName`, for tests), created
 * 0600 by CREATE_NEW, renamed over `file` (a rename replaces a link at `file`, never writes
 * through it); then older builds' caches go. Any failure leaves nothing of this write behind and
 * is not reported.
 */
export function writeCacheFile(
  file: string,
  data: () => Buffer,
  isStale: (name: string) => boolean,
  tempName: (file: string) => string = randomTempName,
): void {
  const dir = ownDirectory(dirname(file));
  if (dir === undefined) return;
  const target = join(dir, basename(file));
  const temp = tempName(target);
  let created = false;
  try {
    const fd = openSync(temp, CREATE_NEW, 0o600);
    created = true;
    try {
      const bytes = data();
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
    created = false;
    for (const name of readdirSync(dir)) if (name !== basename(target) && isStale(name)) unlinkSync(join(dir, name));
  } catch {
    // Only what this write made goes: never a file someone else put at the temporary name.
    if (created) {
      try {
        unlinkSync(temp);
      } catch {
        // nothing more to undo
      }
    }
  }
}

/** `<file>.<16 random hex digits>.tmp`; node:crypto is loaded only here, when a cache is written. */
function randomTempName(file: string): string {
  const { randomBytes } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return `${file}.${randomBytes(8).toString('hex')}.tmp`;
}
