/**
 * Decrypted secret files on the host: `<root>/<digest>/<index>` (root `<secrets-dir>/<namespace>/<app>`,
 * on tmpfs, directories 0700 owned by berth), each file bind-mounted read-only into the app's
 * containers. A digest's directory goes once no container of the app uses it.
 */
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { writeFileAtomically } from '../util/atomic-file.js';
import { join } from 'node:path';
import type { ResolvedSecrets } from '../manifest/types.js';

/** Writes the files of `resolved` (again) before a container that mounts them is created. */
export async function materializeSecretFiles(resolved: ResolvedSecrets): Promise<void> {
  if (resolved.root === undefined || resolved.files.length === 0) return;
  const dir = join(resolved.root, resolved.digest);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(resolved.root, 0o700);
  await chmod(dir, 0o700);
  for (const [index, file] of resolved.files.entries()) {
    // Readable by any user in the container (the directory keeps host users out).
    await writeFileAtomically(join(dir, String(index)), file.content, 0o444);
  }
}

/** Removes the digests of `root` not in `keep`; the whole root when nothing is kept. */
export async function sweepSecretFiles(root: string, keep: ReadonlySet<string>): Promise<void> {
  if (keep.size === 0) {
    await rm(root, { recursive: true, force: true });
    return;
  }
  const entries = await readdir(root).catch(() => [] as string[]);
  for (const entry of entries) if (!keep.has(entry)) await rm(join(root, entry), { recursive: true, force: true });
}
