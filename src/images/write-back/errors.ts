/**
 * The error of berth's one boundary where image automation writes a manifest: a file in place, or
 * a commit pushed to a git remote. Its message is one line, names the file, app or branch, and
 * never quotes a credential (a remote's URL is shown as redactUrl shows it).
 */

/**
 * Why a new tag was not written:
 * - `stale`: the manifest changed since berth read it (a person's edit between the read and the
 *   write, a head whose tag is no longer the one the policy moved from): read it again, judge
 *   again; nothing was clobbered;
 * - `refused`: the file may not be written by berth (a symlink leading out of the manifests, not a
 *   regular file, over the size bound, a path escaping the repository, a proposal branch that
 *   cannot take the followed branch without a conflict);
 * - `failed`: the write or the remote failed (no answer, credentials refused, a push declined,
 *   a race lost more times than berth retries).
 */
export type WriteBackErrorKind = 'stale' | 'refused' | 'failed';

export class WriteBackError extends Error {
  constructor(
    readonly kind: WriteBackErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message.replace(/[\r\n]+/g, ' '), options);
    this.name = 'WriteBackError';
  }
}
