/**
 * Where the V8 code cache of a command's bundle lives (code-cache.ts). Pure: the environment and
 * the home directory are passed in.
 *
 * `BERTH_COMPILE_CACHE` names the directory, or turns the cache off with `off` (or `0`); by default
 * it is `$XDG_CACHE_HOME/berth/code-cache`, else `~/.cache/berth/code-cache`: the user's own, as a
 * file of compiled code must be (code-cache.ts uses no directory that another user owns or may
 * write, nor one on a path another user could change, and loads no file another user owns).
 */
import { isAbsolute, join, resolve } from 'node:path';

export interface BundleId {
  /** The bundle's name, e.g. `command-plan`. */
  name: string;
  /** 16 hex digits of a hash of the bundle's text, fixed at build time: a rebuilt bundle never meets a stale cache. */
  hash: string;
}

export interface NodeIdentity {
  version: string;
  arch: string;
  /** `process.execArgv` and NODE_OPTIONS: V8 refuses a cache made under other flags. */
  flags: string;
}

export function codeCacheDir(
  env: Readonly<Record<string, string | undefined>>,
  homedir: () => string,
): string | undefined {
  const setting = env.BERTH_COMPILE_CACHE;
  if (setting === 'off' || setting === '0') return undefined;
  if (setting !== undefined && setting !== '') return resolve(setting);
  const xdg = env.XDG_CACHE_HOME;
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'berth', 'code-cache');
  let home: string;
  try {
    home = homedir();
  } catch {
    return undefined;
  }
  return isAbsolute(home) ? join(home, '.cache', 'berth', 'code-cache') : undefined;
}

/** One file per bundle build, Node version, architecture and set of flags: each run under other flags keeps its own. */
export function codeCacheFile(dir: string, bundle: BundleId, node: NodeIdentity): string {
  return join(dir, `${bundle.name}-${bundle.hash}-${node.version}-${node.arch}-${fnv1a(node.flags)}.v8cache`);
}

/** Whether `file` (a name in the cache directory) is a cache of another build of `bundle`; never one of another bundle. */
export function isStaleCacheOf(file: string, bundle: BundleId): boolean {
  if (!file.startsWith(`${bundle.name}-`) || !file.endsWith('.v8cache')) return false;
  const hash = /^([0-9a-f]{16})-/.exec(file.slice(bundle.name.length + 1))?.[1];
  return hash !== undefined && hash !== bundle.hash;
}

/** 32-bit FNV-1a of `text`, in hex: a short, stable name for a set of flags (not a defence). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
