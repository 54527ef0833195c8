import { CanaryDecisions, type CanaryDecision } from '../../state/canary-decisions.js';
import { lockHolder } from '../../state/lock.js';
import { StateStore } from '../../state/store.js';
import { appArguments, parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';

/**
 * `berth promote APP` (the canary's new revision takes every request now) and `berth abort APP`
 * (traffic back to the stable revision now, the new one held): leaves the decision the running
 * controller takes, and wakes it (SIGUSR2). Exits 1 when the app has no canary under way.
 */
export function canaryDecisionCommand(decision: CanaryDecision) {
  return async (args: string[], out: Output): Promise<number> => {
    const { values, positionals } = parseCommand(args, {}, true);
    const shared = sharedOptions(values);
    const { app } = appArguments(decision, positionals, false);
    const record = (await StateStore.read(shared.stateDir, shared.namespace)).get(app);
    if (!record?.canary) {
      out.stderr(
        `berth: ${app} has no canary under way in namespace "${shared.namespace}" (${record ? `${record.phase}: ${record.message}` : 'no record of it'}); nothing to ${decision}\n`,
      );
      return 1;
    }
    await new CanaryDecisions(shared.stateDir, shared.namespace).request(app, decision);
    const what = decision === 'promote' ? 'Promotion' : 'Abort';
    const pid = await lockHolder(shared.stateDir, shared.namespace);
    if (pid === undefined) {
      out.stdout(
        `=====> ${what} of ${app}'s canary requested; no berth runs for namespace "${shared.namespace}" now: the next one takes it\n`,
      );
      return 0;
    }
    process.kill(pid, 'SIGUSR2');
    out.stdout(
      `=====> ${what} of ${app}'s canary requested (at ${record.canary.percent}%); berth (pid ${pid}) acts on it now\n`,
    );
    return 0;
  };
}
