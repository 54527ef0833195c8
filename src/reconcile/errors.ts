/** A rollout that did not go live: its new containers were removed and the old ones left serving. */
export class DeployFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeployFailedError';
  }
}

/** The planner refused to act (digest mismatch, impossible strategy); the manifest must change. */
export class PlanRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanRefusedError';
  }
}
