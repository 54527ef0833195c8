import { StateStore } from '../../state/store.js';
import { shortId } from '../../util/short-id.js';
import { formatTable } from '../table.js';
import { age } from '../../util/age.js';
import { appArguments, parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';

/** `berth history APP`: every deploy berth recorded for the app, newest first; `*` marks what serves. */
export async function historyCommand(args: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommand(args, { json: { type: 'boolean', default: false } }, true);
  const shared = sharedOptions(values);
  const { app } = appArguments('history', positionals, false);
  const record = (await StateStore.read(shared.stateDir, shared.namespace)).get(app);
  if (!record) {
    out.stderr(`berth: no record of ${app} in namespace "${shared.namespace}" (state dir ${shared.stateDir})\n`);
    return 1;
  }
  if (values.json) {
    out.stdout(JSON.stringify(record.history.map((h) => ({ ...h, at: new Date(h.at).toISOString(), serving: h.revision === record.servingRevision })), null, 2) + '\n');
    return 0;
  }
  if (record.history.length === 0) {
    out.stdout(`${app}: no deploys recorded yet (${record.phase}: ${record.message})\n`);
    return 0;
  }
  const now = Date.now();
  let servingMarked = false;
  const rows = record.history.map((h) => {
    const serving = !servingMarked && h.outcome === 'succeeded' && h.revision === record.servingRevision;
    servingMarked ||= serving;
    return [
      serving ? '*' : '',
      new Date(h.at).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      age(now, h.at),
      `${h.image}:${h.tag}`,
      shortId(h.imageId),
      h.outcome,
      `${(h.durationMs / 1000).toFixed(1)}s`,
      h.reason ?? '',
    ];
  });
  out.stdout(formatTable(['', 'DEPLOYED', 'AGE', 'IMAGE', 'IMAGE ID', 'RESULT', 'TOOK', 'REASON'], rows));
  return 0;
}
