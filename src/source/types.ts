import { oneLine } from '../util/strip-control.js';

/** A commit a manifest tree came from, as people name it. */
export interface Commit {
  sha: string;
  subject: string;
  author: string;
  /** ISO 8601, the committer's time. */
  time: string;
}

/** `3f2a1c9 'bump web to v2'`: how logs, status and history name a commit; its subject (anyone's words) stripped of terminal control, on one line. */
export function describeCommit(commit: Commit): string {
  return `${commit.sha.slice(0, 7)} '${oneLine(commit.subject)}'`;
}

/** The source's condition, for status, metrics and the status page. */
export interface SourceCondition {
  /** The remote, without credentials. */
  url: string;
  branch: string;
  path: string;
  /** The commit whose tree berth reconciles now. */
  commit?: Commit;
  /** When the remote last answered. */
  checkedAt?: number;
  /** The last failure, kept until the remote answers again. */
  error?: string;
  /** When the current failure began. */
  errorSince?: number;
}

/** Where an app's manifest was read from, when berth follows a git repository. */
export interface ManifestOrigin {
  /** The commit of the tree the manifest was read from. */
  commit: Commit;
  /** The commit that last changed the manifest's file, when berth saw it change (the clone is shallow: not for a file already in the first tree it fetched). */
  changedBy?: Commit;
}

/** The tree a source has in place: its commit, and who last changed each file. */
export interface AppliedTree {
  commit: Commit;
  /** The commit that last changed `file` (a path under the source's checkout, as the manifest reader names it); undefined when not known. */
  changedBy(file: string): Commit | undefined;
}
