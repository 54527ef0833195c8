import { loadPaths } from '../../manifest/load.js';
import { formatProblem } from '../../manifest/types.js';
import { parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';
import { UsageError } from '../usage.js';

export async function validateCommand(args: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommand(args, {}, true);
  const shared = sharedOptions(values);
  if (positionals.length === 0) throw new UsageError('validate needs at least one file or directory');
  const set = await loadPaths(positionals, { namespace: shared.namespace, allowHostPaths: shared.allowHostPaths });
  for (const problem of set.problems) out.stdout(`${formatProblem(problem)}\n`);
  if (set.problems.length > 0) {
    out.stderr(`${set.problems.length} problem(s) in ${new Set(set.problems.map((p) => p.file)).size} file(s)\n`);
    return 1;
  }
  if (set.directory === 'missing' || set.directory === 'unreadable') {
    out.stderr(`berth: cannot read ${positionals.join(', ')}\n`);
    return 1;
  }
  out.stderr(`${set.fileCount} file(s), ${set.apps.size} app(s): valid\n`);
  return 0;
}
