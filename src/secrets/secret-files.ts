/**
 * Decrypted secret files on the host: `<root>/<digest>/<index>` (root `<secrets root>/<app>`, on
 * tmpfs), each file bind-mounted read-only into the app's containers. Every directory on the way
 * is checked before each write (src/util/private-dir.ts): owned by berth's user, reachable by no
 * one else, no link another user could have planted, so no other local user can read a secret.
 * A digest's directory goes once no container of the app uses it: the Docker planner's
 * sweepSecrets action, which checks the directory the same way. Throws UnsafeDirectoryError when
 * a check fails.
 */
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
