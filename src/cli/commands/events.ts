import { StateStore } from '../../state/store.js';
import { formatTable } from '../table.js';
import { parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';

/** `berth events [APP] [--json]`: the timeline, oldest first: what happened, once each. */
export async function eventsCommand(args: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommand(args, { json: { type: 'boolean', default: false } }, true);
  const shared = sharedOptions(values);
  const app = positionals[0];
  const events = (await StateStore.read(shared.stateDir, shared.namespace))
    .events()
    .filter((e) => app === undefined || e.app === app);
  if (values.json) {
    out.stdout(`${JSON.stringify(events, null, 2)}\n`);
    return 0;
  }
  if (events.length === 0) {
    out.stdout(`no events${app !== undefined ? ` of ${app}` : ''} in namespace "${shared.namespace}"\n`);
    return 0;
  }
  out.stdout(
    formatTable(
      ['TIME (UTC)', 'APP', 'EVENT', 'WHAT'],
      events.map((e) => [e.time.slice(0, 19).replace('T', ' '), e.app ?? '-', e.type, e.message]),
    ),
  );
  return 0;
}
