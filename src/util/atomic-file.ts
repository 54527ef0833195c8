/**
 * berth's one way to replace a file: whole or not at all, and still there after a crash. Every
 * file berth writes over (its state, nginx blocks, ACME pairs and challenge answers, decrypted
 * secret files, a manifest's tag, an encrypted secret) goes through `writeFileAtomically`.
 *
 * 1. A temporary file beside the target (same directory, so same filesystem): hidden, with an
 *    unpredictable name, created exclusively and without following a link (`O_EXCL|O_NOFOLLOW`):
 *    a link or file planted at the name makes the write fail, never writes through it.
 * 2. The content is written, the owner of the file it replaces kept (when no mode is given), the
 *    permission bits set exactly (no umask), the file synced.
 * 3. It is renamed over the target (a link at the target is replaced, its own target untouched),
 *    then the directory is synced so the rename itself survives a crash.
 *
 * A reader sees the old content or the new, never half; a failure before the rename leaves the
 * target as it was and removes the temporary file.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The permission bits of a new file when no mode is given and no regular file is there to keep them from. */
const DEFAULT_ATOMIC_FILE_MODE = 0o600;

const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** How much of the target's name the temporary name repeats: enough to see whose it is, short of NAME_MAX. */
const NAME_KEPT = 64;

/** Filesystems that cannot sync a directory say so with these; the rename is done all the same. */
const DIRECTORY_SYNC_UNSUPPORTED = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EISDIR', 'EBADF']);

/**
 * Replaces `file` with `content`, atomically and durably (see above). `mode` gives the new file's
 * permission bits exactly; without it the regular file being replaced keeps its bits and its owner
 * and group (a link or a missing file gets 0600 and berth's user). `beforeRename` runs once the
 * temporary file is written and synced (a last check, or a test's fault): whatever it throws
 * fails the write there.
 */
export async function writeFileAtomically(
  file: string,
  content: string | Uint8Array,
  mode?: number,
  beforeRename?: (temp: string) => Promise<void>,
): Promise<void> {
  const kept = mode === undefined ? await keptAttributes(file) : undefined;
  const bits = mode ?? kept?.mode ?? DEFAULT_ATOMIC_FILE_MODE;
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file).slice(0, NAME_KEPT)}.${randomBytes(8).toString('hex')}.tmp`);
  let created = false;
  try {
    const handle = await open(temp, CREATE_NEW, 0o600);
    created = true;
    try {
      await handle.writeFile(content);
      // Before chmod: a chown clears set-id bits.
      if (kept && !(await sameOwner(handle, kept))) await handle.chown(kept.uid, kept.gid);
      await handle.chmod(bits);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await beforeRename?.(temp);
    await rename(temp, file);
    created = false;
  } catch (error) {
    // Only what this write made goes: never a file someone else put at the temporary name.
    if (created) await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dir);
}

/** The permission bits and owner of the regular file at `file` (a link is not followed); undefined when there is none. */
async function keptAttributes(file: string): Promise<{ mode: number; uid: number; gid: number } | undefined> {
  const existing = await lstat(file).catch(() => undefined);
  return existing?.isFile() ? { mode: existing.mode & 0o7777, uid: existing.uid, gid: existing.gid } : undefined;
}

/** Whether the open file already has `owner`'s uid and gid (then no chown is asked for, which a non-root user may not make). */
async function sameOwner(handle: FileHandle, owner: { uid: number; gid: number }): Promise<boolean> {
  const made = await handle.stat();
  return made.uid === owner.uid && made.gid === owner.gid;
}

/** Makes the directory's latest entries (the rename) durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } catch (error) {
    if (!DIRECTORY_SYNC_UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    await handle.close();
  }
}
