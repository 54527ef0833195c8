import { canaryDecisionCommand } from './canary-decision.js';

/** `berth abort APP`: the canary ends now, traffic back to the stable revision (see canary-decision.ts). */
export const abortCommand = canaryDecisionCommand('abort');
