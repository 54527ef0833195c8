/**
 * Files that hold a secret for berth itself: age identities, the webhook and notification secrets,
 * the files of notification and repository URLs with their tokens. berth runs as root, so such a
 * file is read only when no one but berth's user could have read or changed it, as ssh treats a
 * private key:
 *
 * - owned by berth's user or root, and neither readable nor writable by group or others (mode &
 *   0o077 is 0): anything else is refused in one line naming the file and the fix (`chmod 600 FILE`);
 * - a regular file, opened without following a symbolic link at its name unless the link lies in
 *   a directory only root or berth's user can write (the operator's own `/etc/berth/key ->
 *   keys/2024.key`); a link in `/tmp` or any directory others may write is refused;
 * - judged on the descriptor that is read (no window between the check and the read), opened
 *   non-blocking (a FIFO planted there cannot hang berth) and read no further than the limit.
 */
import { constants } from 'node:fs';
import { lstat, open, readlink, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';

/** Larger files are refused: keys, secrets and URL lists are small. */
const SECRET_FILE_READ_LIMIT = 64 * 1024;

export class SecretFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'SecretFileError';
  }
}

/** Links followed at a secret file's name at most. */
const MAX_LINKS = 8;

/** The text of the secret file `file`, checked as above; SecretFileError says why not. */
export async function readSecretFile(file: string, options: { limit?: number; uid?: number } = {}): Promise<string> {
  const uid = options.uid ?? process.geteuid?.() ?? 0;
  const limit = options.limit ?? SECRET_FILE_READ_LIMIT;
  const target = await followTrustedLinks(file, uid);
  const handle = await open(
    target,
    constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY,
  ).catch((error: NodeJS.ErrnoException) => {
    throw new SecretFileError(
      file,
      error.code === 'ENOENT'
        ? 'no such file'
        : error.code === 'ELOOP'
          ? 'is a symbolic link'
          : `unreadable (${error.code ?? error.message})`,
    );
  });
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new SecretFileError(file, 'is not a regular file');
    if (stats.uid !== 0 && stats.uid !== uid)
      throw new SecretFileError(
        file,
        `is owned by uid ${stats.uid}, neither root nor berth's user (uid ${uid}); it holds a secret: chown it to berth's user and chmod 600 ${file}`,
      );
    if ((stats.mode & 0o077) !== 0) {
      const mode = (stats.mode & 0o7777).toString(8).padStart(4, '0');
      throw new SecretFileError(
        file,
        `has mode ${mode}: group or other users can ${(stats.mode & 0o022) !== 0 ? 'change' : 'read'} it, and it holds a secret (chmod 600 ${file})`,
      );
    }
    if (stats.size > limit) throw new SecretFileError(file, `${stats.size} bytes, over the ${limit / 1024} KiB limit`);
    const content = await readAtMost(handle, limit);
    if (content === undefined) throw new SecretFileError(file, `over the ${limit / 1024} KiB limit`);
    return content.toString('utf8');
  } finally {
    await handle.close();
  }
}

/** `file`, or where the links at its name lead when each lies in a directory no one but root or berth's user can write. */
async function followTrustedLinks(file: string, uid: number): Promise<string> {
  let current = resolve(file);
  for (let links = 0; ; links++) {
    const stats = await lstat(current).catch(() => undefined);
    // Missing or unreadable: the open says so.
    if (stats === undefined || !stats.isSymbolicLink()) return current;
    if (links >= MAX_LINKS) throw new SecretFileError(file, 'too many symbolic links');
    const dir = dirname(current);
    const holder = await lstat(dir).catch(() => undefined);
    if (holder === undefined || (holder.uid !== 0 && holder.uid !== uid) || (holder.mode & 0o022) !== 0) {
      throw new SecretFileError(
        file,
        `is a symbolic link in ${dir}, a directory other users can write; name the file itself`,
      );
    }
    const target = await readlink(current);
    current = isAbsolute(target) ? resolve(target) : resolve(dir, target);
  }
}

/** All of an open file if it is at most `limit` bytes (it may grow after a stat); undefined when it is longer. */
export async function readAtMost(handle: FileHandle, limit: number): Promise<Buffer | undefined> {
  const buffer = Buffer.alloc(limit + 1);
  let length = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
    if (bytesRead === 0) return buffer.subarray(0, length);
    length += bytesRead;
    if (length > limit) return undefined;
  }
}
