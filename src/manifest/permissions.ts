/**
 * Whoever can write the manifest directory can run containers on the host (see README, "Trust"),
 * so a directory that users other than its owner may write deserves a warning.
 */
import { stat } from 'node:fs/promises';

/** Who besides the owner may write a directory with this mode, or undefined when nobody may. */
export function otherWriters(mode: number): string | undefined {
  const group = (mode & 0o020) !== 0;
  const others = (mode & 0o002) !== 0;
  if (!group && !others) return undefined;
  return group && others ? 'its group and every user' : group ? 'its group' : 'every user';
}

/** The warning for `dir` (followed through symlinks), or undefined when only its owner may write it or it cannot be read. */
export async function permissionWarning(dir: string): Promise<string | undefined> {
  const mode = await stat(dir).then(
    (s) => s.mode,
    () => undefined,
  );
  const writers = mode === undefined ? undefined : otherWriters(mode);
  if (writers === undefined) return undefined;
  const octal = (mode! & 0o7777).toString(8).padStart(4, '0');
  return `the manifest directory ${dir} (mode ${octal}) is writable by ${writers}: anyone who can write a manifest can run containers on this host; chmod go-w it`;
}
