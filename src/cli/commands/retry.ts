import { lockHolder } from '../../state/lock.js';
import { RetryRequests } from '../../state/retry-requests.js';
import { StateStore } from '../../state/store.js';
import { appArguments, parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';

/**
 * `berth retry APP`: one more attempt at a revision berth holds after it was rolled back or its
 * release failed. Leaves a request the running controller takes, and wakes it (SIGUSR2).
 */
export async function retryCommand(args: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommand(args, {}, true);
  const shared = sharedOptions(values);
  const { app } = appArguments('retry', positionals, false);
  const record = (await StateStore.read(shared.stateDir, shared.namespace)).get(app);
  if (!record?.held) {
    out.stderr(
      `berth: ${app} holds no revision back in namespace "${shared.namespace}" (${record ? `${record.phase}: ${record.message}` : 'no record of it'}); nothing to retry\n`,
    );
    return 1;
  }
  await new RetryRequests(shared.stateDir, shared.namespace).request(app, Date.now());
  const pid = await lockHolder(shared.stateDir, shared.namespace);
  if (pid === undefined) {
    out.stdout(
      `=====> Retry of ${app} requested; no berth runs for namespace "${shared.namespace}" now: the next one takes it\n`,
    );
    return 0;
  }
  process.kill(pid, 'SIGUSR2');
  out.stdout(
    `=====> Retry of ${app} requested (it was held: ${record.held.reason}); berth (pid ${pid}) tries it now\n`,
  );
  return 0;
}
