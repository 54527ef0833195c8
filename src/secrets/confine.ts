/**
 * Where a file a manifest names may lie. A manifest's author is not root: the files berth reads
 * for an app (envFrom, secrets) must lie inside the source the manifests came from (the manifests
 * directory, or the git checkout), after every link is resolved, so `/etc/passwd`,
 * `../../../etc/passwd` or a link inside the manifests pointing out are refused. Inside it, a
 * directory `secrets/<name>/` is app `<name>`'s own: another app naming a file there is refused
 * (an app reads its own files, `secrets/shared/` and files directly in `secrets/`). The reasons
 * name the path as the manifest gives it, never anything inside a file.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';

/** The directory under `secrets/` every app may read. */
export const SHARED_SECRETS = 'shared';

export class ConfinementError extends Error {
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'ConfinementError';
  }
}

/** The real path of `file`, checked to lie inside `root` and outside other apps' secrets; ConfinementError otherwise. */
export async function confinedFile(file: string, root: string, app: string): Promise<string> {
  const realRoot = await realpath(root).catch(() => {
    throw new ConfinementError(file, 'the manifests directory cannot be resolved');
  });
  // Judged by name first: a path that leaves the root is refused whether or not it exists.
  const outside = `is outside the manifests directory; a manifest names files inside it only`;
  if (escapes(relative(root, file)) && escapes(relative(realRoot, file))) throw new ConfinementError(file, outside);
  const real = await realpath(file).catch((error: NodeJS.ErrnoException) => {
    throw new ConfinementError(file, error.code === 'ENOENT' ? 'no such file' : `unreadable (${error.code ?? 'error'})`);
  });
  const inside = relative(realRoot, real);
  if (escapes(inside)) throw new ConfinementError(file, `leads outside the manifests directory (through a symbolic link); a manifest names files inside it only`);
  const owner = secretsOwner(inside);
  if (owner !== undefined && owner !== app && owner !== SHARED_SECRETS) throw new ConfinementError(file, `is app ${owner}'s secret (secrets/${owner}/); app ${app} may read secrets/${app}/, secrets/${SHARED_SECRETS}/ and files directly in secrets/`);
  return real;
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
