/**
 * Decrypted secret files on the host: `<root>/<digest>/<index>` (root `<secrets root>/<app>`, on
 * tmpfs), each file bind-mounted read-only into the app's containers. Every directory on the way
 * is checked before each write and each sweep (src/util/private-dir.ts): owned by berth's user,
 * reachable by no one else, no link another user could have planted. So no other local user can
 * read a secret, and no removal goes through a path berth did not verify. A digest's directory
 * goes once no container of the app uses it. Throws UnsafeDirectoryError when a check fails.
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResolvedSecrets } from '../manifest/types.js';
import { writeFileAtomically } from '../util/atomic-file.js';
import { ensurePrivateDirectory } from '../util/private-dir.js';

/** Writes the files of `resolved` (again) before a container that mounts them is created. */
export async function materializeSecretFiles(resolved: ResolvedSecrets): Promise<void> {
  if (resolved.root === undefined || resolved.files.length === 0) return;
  const dir = await ensurePrivateDirectory(join(resolved.root, resolved.digest), { create: true, secret: true });
  for (const [index, file] of resolved.files.entries()) {
    // Readable by any user in the container (the directories keep host users out).
    await writeFileAtomically(join(dir, String(index)), file.content, 0o444);
  }
}

/** Removes the digests of `root` not in `keep`; the whole root when nothing is kept. A root that does not exist is left so. */
export async function sweepSecretFiles(root: string, keep: ReadonlySet<string>): Promise<void> {
  const exists = await lstat(root).then(
    () => true,
    () => false,
  );
  if (!exists) return;
  const verified = await ensurePrivateDirectory(root, { secret: true });
  if (keep.size === 0) {
    await rm(verified, { recursive: true, force: true });
    return;
  }
  // Entries of a verified private directory are berth's own; rm never follows a link it meets.
  for (const entry of await readdir(verified))
    if (!keep.has(entry)) await rm(join(verified, entry), { recursive: true, force: true });
}
