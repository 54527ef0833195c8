/**
 * Loads a CommonJS bundle the way Node's loader would, but compiled through V8's code cache:
 * the first run compiles as usual and, at exit, writes what V8 compiled (the top level and every
 * function that ran) to the cache file; later runs start from it and compile only what the cache
 * lacks. Node 22 does this for every module (`module.enableCompileCache`); Node 20 has only
 * `vm.Script`'s `cachedData`, for scripts, hence bundles in CommonJS.
 *
 * A cache is only ever a speed-up: one that is missing, unreadable, owned by another user, or that
 * V8 refuses (another V8, other flags) is ignored and written anew; one that cannot be written is
 * not written. None of that is reported.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';

export interface CodeCache {
  file: string;
  /** Whether a file in the cache directory is a cache of an older build of this bundle (removed when this one is written). */
  isStale: (name: string) => boolean;
}

/** What became of the code cache in one load. */
export type CacheUse = 'off' | 'used' | 'missing' | 'refused';

/**
 * Runs the CommonJS bundle `file` and returns its `module.exports`; `cache` undefined: no code
 * cache. A cache that was missing or refused is written by the function handed to `atExit`
 * (by default when the process exits, so it holds every function the run compiled).
 */
export function loadBundle(file: string, cache: CodeCache | undefined, atExit: (write: () => void) => void = (write) => process.once('exit', write)): { exports: unknown; cacheUse: CacheUse } {
  const source = readFileSync(file, 'utf8');
  const cachedData = cache === undefined ? undefined : readOwnFile(cache.file);
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData !== undefined && { cachedData }),
  });
  const cacheUse: CacheUse = cache === undefined ? 'off' : cachedData === undefined ? 'missing' : script.cachedDataRejected === true ? 'refused' : 'used';
  if (cache !== undefined && cacheUse !== 'used') atExit(() => writeCache(cache, script));
  const module = { exports: {} as unknown };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, dirname(file));
  return { exports: module.exports, cacheUse };
}

/** The file's bytes if it is a regular file this user owns; otherwise undefined. */
function readOwnFile(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || (process.getuid !== undefined && stat.uid !== process.getuid())) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Whole or not at all (a temporary file renamed over it), in a directory only this user can enter; older builds' caches go. */
function writeCache(cache: CodeCache, script: Script): void {
  const dir = dirname(cache.file);
  const temp = `${cache.file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(temp, script.createCachedData(), { mode: 0o600 });
    renameSync(temp, cache.file);
    for (const name of readdirSync(dir)) if (name !== basename(cache.file) && cache.isStale(name)) rmSync(join(dir, name), { force: true });
  } catch {
    try {
      rmSync(temp, { force: true });
    } catch {
      // nowhere to write, nothing written
    }
  }
}
