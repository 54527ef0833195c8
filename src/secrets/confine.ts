/**
 * Where a file a manifest names may lie. A manifest's author is not root: the files berth reads
 * for an app (envFrom, secrets) must lie inside the source the manifests came from (the manifests
 * directory, or the git checkout), after every link is resolved, so `/etc/passwd`,
 * `../../../etc/passwd` or a link inside the manifests pointing out are refused. Inside it, a
 * directory `secrets/<name>/` is app `<name>`'s own: another app naming a file there is refused
 * (an app reads its own files, `secrets/shared/` and files directly in `secrets/`). The reasons
 * name the path as the manifest gives it, never anything inside a file.
 */
import { lstat, readlink, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';

/** The directory under `secrets/` every app may read. */
const SHARED_SECRETS = 'shared';

export class ConfinementError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'ConfinementError';
  }
}

/** Links followed on the way to one file at most, as the kernel's own limit. */
const MAX_LINKS = 40;

/**
 * The real path of `file`, checked to lie inside `root` and outside other apps' secrets;
 * ConfinementError otherwise. Links are resolved one component at a time from the root, and a
 * step that leaves it is refused before anything outside is looked at: whether a file exists
 * outside the source is never told (a pull request's `plan` log must not probe root's files).
 */
export async function confinedFile(file: string, root: string, app: string): Promise<string> {
  const realRoot = await realpath(root).catch(() => {
    throw new ConfinementError(file, 'the manifests directory cannot be resolved');
  });
  const outside = 'is outside the manifests directory; a manifest names files inside it only';
  const start = [relative(root, file), relative(realRoot, file)].find((rel) => !escapes(rel));
  if (start === undefined) throw new ConfinementError(file, outside);
  let pending = start.split(sep).filter((part) => part !== '' && part !== '.');
  const at: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const [part, ...rest] = pending as [string, ...string[]];
    pending = rest;
    if (part === '..') {
      if (at.length === 0)
        throw new ConfinementError(
          file,
          'leads outside the manifests directory (through a symbolic link); a manifest names files inside it only',
        );
      at.pop();
      continue;
    }
    const next = join(realRoot, ...at, part);
    const stats = await lstat(next).catch((error: NodeJS.ErrnoException) => {
      throw new ConfinementError(
        file,
        error.code === 'ENOENT' ? 'no such file' : `unreadable (${error.code ?? 'error'})`,
      );
    });
    if (!stats.isSymbolicLink()) {
      at.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new ConfinementError(file, 'too many symbolic links');
    const target = await readlink(next);
    const fromRoot = isAbsolute(target) ? relative(realRoot, target) : join(...at, target);
    if (escapes(fromRoot) && fromRoot !== '')
      throw new ConfinementError(
        file,
        'leads outside the manifests directory (through a symbolic link); a manifest names files inside it only',
      );
    pending = [...fromRoot.split(sep).filter((p) => p !== '' && p !== '.'), ...pending];
    at.length = 0;
  }
  const inside = at.join(sep);
  if (inside === '') throw new ConfinementError(file, outside);
  const owner = secretsOwner(inside);
  if (owner !== undefined && owner !== app && owner !== SHARED_SECRETS)
    throw new ConfinementError(
      file,
      `is app ${owner}'s secret (secrets/${owner}/); app ${app} may read secrets/${app}/, secrets/${SHARED_SECRETS}/ and files directly in secrets/`,
    );
  return join(realRoot, inside);
}

function escapes(rel: string): boolean {
  return rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

/** The app a path relative to the root belongs to: `<name>` of its first `secrets/<name>/...`; undefined for other paths. */
export function secretsOwner(relativePath: string): string | undefined {
  const parts = relativePath.split(sep);
  const at = parts.indexOf('secrets');
  return at >= 0 && parts.length > at + 2 ? parts[at + 1] : undefined;
}
