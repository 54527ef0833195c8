import type { AppRecord } from '../../state/types.js';
import type { Observation } from './actions.js';
import { planApp } from './plan.js';

/**
 * True when reconciling the observed app could change nothing: the planner has no action,
 * refusal or pending retirement for it, and berth's record already shows the plan's outcome.
 * An app with neither a manifest, containers nor a record is in sync. Pure.
 */
export function isInSync(observation: Observation, record: AppRecord | undefined): boolean {
  const plan = planApp(observation);
  if (plan.actions.length > 0 || plan.refused !== undefined || plan.requeueAfterMs !== undefined) return false;
  if (plan.gone) return record === undefined;
  return record !== undefined && record.phase === plan.outcome.phase && record.message === plan.outcome.message;
}
