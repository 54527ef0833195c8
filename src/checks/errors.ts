/** A pre-flight check did not pass; `message` says which check, which container and why. */
export class CheckFailedError extends Error {
  readonly container: string;
  constructor(container: string, message: string) {
    super(message);
    this.name = 'CheckFailedError';
    this.container = container;
  }
}
