/**
 * Image automation's write-back into a manifest directory: the app's `spec.tag` (and the
 * `spec.digest` it pins) edited in place as `tags:deploy` does (../../manifest/edit.ts), the file
 * replaced atomically keeping its owner and mode (../../util/atomic-file.ts).
 *
 * The manifests are a manifest author's: hostile. The file is written only if it resolves inside
 * the manifests (a symlink leading out is refused, never written through), is a regular file of at
 * most 1 MiB holding UTF-8, and still holds what berth read right before the rename (a
 * compare-and-swap: a person's edit in between is never clobbered). Once resolved, its directory
 * is held open and reached through that descriptor (Linux's /proc/self/fd), so a user who may
 * write a directory on the way cannot swap it for a link to /etc between the check and the rename.
 */
import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { setSpecImage, type SpecImage } from '../../manifest/edit.js';
import { quote } from '../../manifest/printable.js';
import { writeFileAtomically } from '../../util/atomic-file.js';
import { tagIn } from './change.js';
import { WriteBackError } from './errors.js';

/** The manifest reader's bound (../../manifest/read/read-file.ts): a larger file is no manifest. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/** Where the file may lie, and what berth last read in it. */
export interface FileWriteBackGuard {
  /** The manifests directory (or the one manifest file) berth reads; the file must resolve inside it. Default: the file's own directory. */
  root?: string;
  /** The file's text when the policy was judged: a file that no longer holds it is not written (`stale`). */
  expectedText?: string;
  /**
   * The tag the policy moves from (the manifest's when it was judged): a file whose app now says
   * neither it nor the new tag (a person moved it back meanwhile) is not written (`stale`).
   */
  from?: string;
}

/**
 * Writes `to` (its tag, and its digest where the manifest pins one) into the manifest file of
 * `app` in place; only those characters change. Keeps the file's owner and mode. Resolves
 * 'unchanged' when the file already says it (nothing written), else 'written'. Refuses with a
 * one-line WriteBackError a file that is a symlink out of `guard.root`, not a regular file, larger
 * than 1 MiB or not UTF-8 (`refused`), or that changed since `guard.expectedText` was read, whose
 * tag is no longer `guard.from`, that changed between berth's read and its rename, or whose
 * directory moved meanwhile (`stale`); with ManifestEditError what cannot be edited in place (see
 * setSpecImage). Nothing is written when it throws.
 */
export async function writeTagToFile(
  file: string,
  app: string,
  to: SpecImage,
  guard: FileWriteBackGuard = {},
): Promise<'written' | 'unchanged'> {
  const real = await resolveInside(file, guard.root ?? resolve(file, '..'));
  // From here on every step goes through the file's directory, open: no directory on the way can be
  // swapped for a link to another (a user who may write one of them, racing berth's write).
  const directory = await pinDirectory(dirname(real), file);
  try {
    return await writeInPinned(`${directory.path}/${basename(real)}`, file, app, to, guard);
  } finally {
    await directory.close();
  }
}

/** The edit and the write, on `target`, a path through the pinned directory; messages name `file`. */
async function writeInPinned(
  target: string,
  file: string,
  app: string,
  to: SpecImage,
  guard: FileWriteBackGuard,
): Promise<'written' | 'unchanged'> {
  const read = await readManifest(target, file);
  if (guard.expectedText !== undefined && read.text !== guard.expectedText)
    throw new WriteBackError('stale', `${file} changed since berth read it; the tag of ${app} was not written`);
  const edited = setSpecImage(read.text, file, app, to);
  if (edited === read.text) return 'unchanged';
  if (guard.from !== undefined) {
    const now = tagIn(read.text, file, app);
    if (now !== guard.from && now !== to.tag)
      throw new WriteBackError(
        'stale',
        `${file} now says tag ${now === undefined ? '(none)' : quote(now)} for ${app}, not ${guard.from}; the move to ${to.tag} was not written`,
      );
  }
  // The last look before the rename: still a file (not a link) in the pinned directory, holding what was read.
  await writeFileAtomically(target, edited, undefined, async () => {
    const again = await readManifest(target, file).catch(() => undefined);
    if (!again?.bytes.equals(read.bytes))
      throw new WriteBackError('stale', `${file} changed while berth wrote it; the tag of ${app} was not written`);
  });
  return 'written';
}

/**
 * `dir` open, and a path that reaches it through the open descriptor (`/proc/self/fd/N`), so a
 * directory renamed or swapped for a link after this cannot redirect the write. Refuses (`stale`)
 * when what was opened is no longer `dir`, the real path resolved a moment before.
 */
async function pinDirectory(dir: string, file: string): Promise<{ path: string; close(): Promise<void> }> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW).catch(
    (error: NodeJS.ErrnoException) => {
      throw new WriteBackError(
        'stale',
        `${file} moved while berth wrote it (${error.code ?? 'not there'}); not written`,
      );
    },
  );
  const path = `/proc/self/fd/${handle.fd}`;
  const opened = await realpath(path).catch(() => undefined);
  if (opened !== dir) {
    await handle.close();
    if (opened === undefined) throw new WriteBackError('refused', `${file} cannot be written: /proc is not mounted`);
    throw new WriteBackError('stale', `${file} moved while berth wrote it; not written`);
  }
  return { path, close: () => handle.close() };
}

/** The real path of `file`, which must lie inside `root` (or be `root` itself, a one-file manifest source). */
async function resolveInside(file: string, root: string): Promise<string> {
  const [realRoot, real] = await Promise.all([
    realpath(root).catch(() => undefined),
    realpath(file).catch((error: NodeJS.ErrnoException) => {
      throw new WriteBackError('refused', `${file} cannot be written: ${error.code ?? 'not there'}`);
    }),
  ]);
  if (realRoot === undefined) throw new WriteBackError('refused', `${file} cannot be written: ${root} is not there`);
  const inside = relative(realRoot, real);
  const within = inside === '' || (inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside));
  if (!within) throw new WriteBackError('refused', `${file} leads out of the manifests (a symbolic link); not written`);
  return real;
}

/** The file's bytes and text, read without following a link and without blocking (a FIFO), bounded. */
async function readManifest(target: string, file: string): Promise<{ bytes: Buffer; text: string }> {
  const handle = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (error: NodeJS.ErrnoException) => {
      throw new WriteBackError('refused', `${file} cannot be read: ${error.code ?? error.message}`);
    },
  );
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new WriteBackError('refused', `${file} is not a regular file; not written`);
    if (stats.size > MAX_MANIFEST_BYTES)
      throw new WriteBackError('refused', `${file} is larger than ${MAX_MANIFEST_BYTES} bytes; not written`);
    const buffer = Buffer.alloc(MAX_MANIFEST_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_MANIFEST_BYTES)
      throw new WriteBackError('refused', `${file} is larger than ${MAX_MANIFEST_BYTES} bytes; not written`);
    const bytes = buffer.subarray(0, length);
    const text = bytes.toString('utf8');
    // Bytes that are not UTF-8 would come back as U+FFFD: the write would change more than the tag.
    if (!Buffer.from(text, 'utf8').equals(bytes))
      throw new WriteBackError('refused', `${file} is not UTF-8 text; not written`);
    return { bytes: Buffer.from(bytes), text };
  } finally {
    await handle.close();
  }
}
