/**
 * A manifest file rewritten in place, confined: what `tags:deploy` and image automation's
 * write-back write. The manifests are a manifest author's, and the directories on the way may be
 * writable by other users: the file is written only if it resolves inside the manifests (a
 * symlink leading out is refused, never written through), is a regular file of at most 1 MiB
 * holding UTF-8, and still holds what berth read right before the rename (a compare-and-swap: a
 * person's edit in between is never clobbered). Once resolved, its directory is held open and
 * reached through that descriptor (Linux's /proc/self/fd), so a user who may write a directory on
 * the way cannot swap it for a link to /etc between the check and the rename. The file keeps its
 * owner and mode (../util/atomic-file.ts).
 */
import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, sep } from 'node:path';
import { writeFileAtomically } from '../util/atomic-file.js';

/** The manifest reader's bound (read/read-file.ts): a larger file is no manifest. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * Why a manifest was not rewritten: `stale`, it changed while berth wrote it (or its directory
 * moved): read it again; `refused`, berth may not write it (a link out, not a regular file, too
 * large, not UTF-8, not there). One line, naming the file; nothing was written.
 */
export class ManifestRewriteError extends Error {
  constructor(
    readonly kind: 'stale' | 'refused',
    message: string,
  ) {
    super(message.replace(/[\r\n]+/g, ' '));
    this.name = 'ManifestRewriteError';
  }
}

/**
 * Rewrites `file` (which must resolve inside `root`) with `rewrite(text)`: 'unchanged' when it
 * returns the same text (nothing written), else 'written'. `rewrite` may throw to refuse; its
 * error passes through. Throws ManifestRewriteError as above.
 */
export async function rewriteManifestInPlace(
  file: string,
  root: string,
  rewrite: (text: string) => string,
): Promise<'written' | 'unchanged'> {
  const real = await resolveInside(file, root);
  const directory = await pinDirectory(dirname(real), file);
  try {
    const target = `${directory.path}/${basename(real)}`;
    const read = await readManifest(target, file);
    const edited = rewrite(read.text);
    if (edited === read.text) return 'unchanged';
    // The last look before the rename: still a file (not a link) in the pinned directory, holding what was read.
    await writeFileAtomically(target, edited, undefined, async () => {
      const again = await readManifest(target, file).catch(() => undefined);
      if (!again?.bytes.equals(read.bytes))
        throw new ManifestRewriteError('stale', `${file} changed while berth wrote it; not written`);
    });
    return 'written';
  } finally {
    await directory.close();
  }
}

/**
 * `dir` open, and a path that reaches it through the open descriptor (`/proc/self/fd/N`), so a
 * directory renamed or swapped for a link after this cannot redirect the write. Refuses (`stale`)
 * when what was opened is no longer `dir`, the real path resolved a moment before.
 */
async function pinDirectory(dir: string, file: string): Promise<{ path: string; close(): Promise<void> }> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW).catch(
    (error: NodeJS.ErrnoException) => {
      throw new ManifestRewriteError(
        'stale',
        `${file} moved while berth wrote it (${error.code ?? 'not there'}); not written`,
      );
    },
  );
  const path = `/proc/self/fd/${handle.fd}`;
  const opened = await realpath(path).catch(() => undefined);
  if (opened !== dir) {
    await handle.close();
    if (opened === undefined)
      throw new ManifestRewriteError('refused', `${file} cannot be written: /proc is not mounted`);
    throw new ManifestRewriteError('stale', `${file} moved while berth wrote it; not written`);
  }
  return { path, close: () => handle.close() };
}

/** The real path of `file`, which must lie inside `root` (or be `root` itself, a one-file manifest source). */
async function resolveInside(file: string, root: string): Promise<string> {
  const [realRoot, real] = await Promise.all([
    realpath(root).catch(() => undefined),
    realpath(file).catch((error: NodeJS.ErrnoException) => {
      throw new ManifestRewriteError('refused', `${file} cannot be written: ${error.code ?? 'not there'}`);
    }),
  ]);
  if (realRoot === undefined)
    throw new ManifestRewriteError('refused', `${file} cannot be written: ${root} is not there`);
  const inside = relative(realRoot, real);
  const within = inside === '' || (inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside));
  if (!within)
    throw new ManifestRewriteError('refused', `${file} leads out of the manifests (a symbolic link); not written`);
  return real;
}

/** The file's bytes and text, read without following a link and without blocking (a FIFO), bounded. */
async function readManifest(target: string, file: string): Promise<{ bytes: Buffer; text: string }> {
  const handle = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (error: NodeJS.ErrnoException) => {
      throw new ManifestRewriteError('refused', `${file} cannot be read: ${error.code ?? error.message}`);
    },
  );
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new ManifestRewriteError('refused', `${file} is not a regular file; not written`);
    if (stats.size > MAX_MANIFEST_BYTES)
      throw new ManifestRewriteError('refused', `${file} is larger than ${MAX_MANIFEST_BYTES} bytes; not written`);
    const buffer = Buffer.alloc(MAX_MANIFEST_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_MANIFEST_BYTES)
      throw new ManifestRewriteError('refused', `${file} is larger than ${MAX_MANIFEST_BYTES} bytes; not written`);
    const bytes = buffer.subarray(0, length);
    const text = bytes.toString('utf8');
    // Bytes that are not UTF-8 would come back as U+FFFD: the write would change more than the tag.
    if (!Buffer.from(text, 'utf8').equals(bytes))
      throw new ManifestRewriteError('refused', `${file} is not UTF-8 text; not written`);
    return { bytes: Buffer.from(bytes), text };
  } finally {
    await handle.close();
  }
}
