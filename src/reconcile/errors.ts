/** A rollout that did not go live: its new containers were removed and the old ones left serving. */
export class DeployFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeployFailedError';
  }
}
