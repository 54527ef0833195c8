/** A rollout that did not go live: its new containers were removed and the old ones left serving. */
export class DeployFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeployFailedError';
  }
}

/** The release step did not succeed; `output` is its last lines (env values redacted). */
export class ReleaseFailedError extends DeployFailedError {
  readonly output: string;
  constructor(message: string, output: string) {
    super(message);
    this.name = 'ReleaseFailedError';
    this.output = output;
  }
}
