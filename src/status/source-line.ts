import { describeCommit, type SourceCondition } from '../source/types.js';
import { age } from '../util/age.js';
import { oneLine } from '../util/strip-control.js';

/** `git URL@branch:path at 3f2a1c9 'msg'`, with the error and how long it has lasted while the remote fails. Pure. */
export function sourceLine(source: SourceCondition, now: number): string {
  const where = `${source.url}@${source.branch}${source.path ? `:${source.path}` : ''}`;
  const at = source.commit ? ` at ${describeCommit(source.commit)}` : ' (no tree yet)';
  const error =
    source.error !== undefined
      ? `; failing for ${age(now, source.errorSince)}: ${oneLine(source.error)} (the last good tree stays)`
      : '';
  return `git ${where}${at}${error}`;
}
