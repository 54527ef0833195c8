import { canaryDecisionCommand } from './canary-decision.js';

/** `berth promote APP`: the canary's new revision takes every request now (see canary-decision.ts). */
export const promoteCommand = canaryDecisionCommand('promote');
