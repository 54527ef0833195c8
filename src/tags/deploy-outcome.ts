import type { AppRecord } from '../state/types.js';

type DeployOutcome = { done: false; note: string } | { done: true; ok: boolean; message: string };

/**
 * Whether the deploy of `tag` that `tags:deploy --wait` waits for has ended, judged from berth's
 * state. `before` is the app's record when the manifest was written: a failure counts only once
 * the phase or message moved since then, so an old failure is not mistaken for the new outcome.
 * berth records `Running` with a desired tag only once that tag's revision serves (or already did).
 */
export function deployOutcome(
  record: AppRecord | undefined,
  tag: string,
  before: AppRecord | undefined,
): DeployOutcome {
  if (!record || record.desiredTag !== tag) return { done: false, note: 'waiting for berth to read the manifest' };
  switch (record.phase) {
    case 'Running':
      return { done: true, ok: true, message: record.message };
    case 'Degraded':
    case 'Failed':
    case 'Invalid': {
      const moved =
        !before || record.since !== before.since || record.message !== before.message || record.phase !== before.phase;
      return moved
        ? { done: true, ok: false, message: `${record.phase}: ${record.lastError ?? record.message}` }
        : { done: false, note: record.message };
    }
    default:
      return { done: false, note: `${record.phase}: ${record.message}` };
  }
}
