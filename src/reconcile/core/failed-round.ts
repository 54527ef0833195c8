import type { Phase } from '../../state/types.js';
import type { Logger } from '../../util/logger.js';
import type { RoundPlan } from './outcome.js';

/** The one error line of a failed reconcile round, alike on every engine. */
export function logFailedRound(
  logger: Logger,
  name: string,
  plan: Pick<RoundPlan, 'rollout'>,
  failure: { message: string; phase: Phase; durationMs: number },
): void {
  const { message, phase, durationMs } = failure;
  logger.error(
    {
      step: plan.rollout ? 'deploy' : 'reconcile',
      ...(plan.rollout ? { revision: plan.rollout.revision } : {}),
      result: 'failed',
      reason: message,
      phase,
      durationMs,
    },
    `${name}: ${message}`,
  );
}
