import { lockHolder } from '../../state/lock.js';
import { parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';

/** `berth sync`: asks the running berth (`run --git`) to look at its remote now (SIGHUP). */
export async function syncCommand(args: string[], out: Output): Promise<number> {
  const { values } = parseCommand(args, {}, false);
  const shared = sharedOptions(values);
  const pid = await lockHolder(shared.stateDir, shared.namespace);
  if (pid === undefined) {
    out.stderr(
      `berth: no berth runs for namespace "${shared.namespace}" (state dir ${shared.stateDir}); nothing to sync\n`,
    );
    return 1;
  }
  process.kill(pid, 'SIGHUP');
  out.stdout(`=====> Asked berth (pid ${pid}) to fetch its git source now\n`);
  return 0;
}
