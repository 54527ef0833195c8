import type { App } from '../manifest/types.js';
import type { Runtime } from '../runtime/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { execCheck, describeCommand } from './exec-check.js';
import { httpCheck } from './http-check.js';
import { waitCheck } from './wait-check.js';
import { shortId } from '../util/short-id.js';
import { secretValues } from '../runtime/container-output.js';

/**
 * Runs the app's pre-flight checks on every given container, in parallel across containers.
 * Resolves when all pass; rejects with CheckFailedError on the first failure, or with the
 * signal's reason when aborted (progress deadline, shutdown).
 */
export async function runChecks(
  deps: { runtime: Runtime; clock: Clock; logger: Logger },
  app: App,
  containerIds: string[],
  signal: AbortSignal,
): Promise<void> {
  const { runtime, clock, logger } = deps;
  const { wait, http, exec } = app.spec.checks;
  const begin = clock.now();
  const secrets = secretValues(app.spec);
  if (http.length === 0 && exec.length === 0) {
    logger.info(
      { step: 'checks', check: 'wait', seconds: wait },
      `CHECKS not set: running simple container check; waiting for ${wait} seconds`,
    );
    await Promise.all(containerIds.map((id) => waitCheck(runtime, clock, id, wait, signal)));
    logger.info(
      { step: 'checks', check: 'wait', result: 'passed', durationMs: clock.now() - begin },
      'Default container check successful!',
    );
    return;
  }
  await Promise.all(
    containerIds.map(async (id) => {
      for (const check of http) {
        const { attempts } = await httpCheck(runtime, clock, id, check, signal);
        logger.info(
          {
            step: 'checks',
            check: check.path,
            container: shortId(id),
            attempts,
            result: 'passed',
            durationMs: clock.now() - begin,
          },
          `CHECKS ${check.path} passed (${attempts} attempt${plural(attempts)})`,
        );
      }
      for (const check of exec) {
        const { attempts } = await execCheck(runtime, clock, id, check, signal, secrets);
        const command = describeCommand(check.command);
        logger.info(
          {
            step: 'checks',
            check: command,
            container: shortId(id),
            attempts,
            result: 'passed',
            durationMs: clock.now() - begin,
          },
          `CHECKS ${command} passed (${attempts} attempt${plural(attempts)})`,
        );
      }
    }),
  );
  logger.info({ step: 'checks', result: 'passed', durationMs: clock.now() - begin }, 'All checks successful!');
}

function plural(count: number): string {
  return count === 1 ? '' : 's';
}
