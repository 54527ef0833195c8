/**
 * Image automation's write-back into a manifest directory: the app's `spec.tag` (and the
 * `spec.digest` it pins) edited in place as `tags:deploy` does (../../manifest/edit.ts), through
 * the confined rewrite both share (../../manifest/rewrite-in-place.ts: inside the manifests, a
 * regular bounded UTF-8 file, its directory held open, compare-and-swap before the rename, owner
 * and mode kept).
 */
import { resolve } from 'node:path';
import { setSpecImage, type SpecImage } from '../../manifest/edit.js';
import { quote } from '../../manifest/printable.js';
import { ManifestRewriteError, rewriteManifestInPlace } from '../../manifest/rewrite-in-place.js';
import { tagIn } from './change.js';
import { WriteBackError } from './errors.js';

export { MAX_MANIFEST_BYTES } from '../../manifest/rewrite-in-place.js';

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
  try {
    return await rewriteManifestInPlace(file, guard.root ?? resolve(file, '..'), (text) => {
      if (guard.expectedText !== undefined && text !== guard.expectedText)
        throw new WriteBackError('stale', `${file} changed since berth read it; the tag of ${app} was not written`);
      const edited = setSpecImage(text, file, app, to);
      if (edited === text || guard.from === undefined) return edited;
      const now = tagIn(text, file, app);
      if (now !== guard.from && now !== to.tag)
        throw new WriteBackError(
          'stale',
          `${file} now says tag ${now === undefined ? '(none)' : quote(now)} for ${app}, not ${guard.from}; the move to ${to.tag} was not written`,
        );
      return edited;
    });
  } catch (error) {
    if (error instanceof ManifestRewriteError) {
      const message =
        error.kind === 'stale'
          ? error.message.replace(/; not written$/, `; the tag of ${app} was not written`)
          : error.message;
      throw new WriteBackError(error.kind, message);
    }
    throw error;
  }
}
