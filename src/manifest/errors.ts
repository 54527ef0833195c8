/** The edit cannot be made safely; the message says where and why. */
export class ManifestEditError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'ManifestEditError';
  }
}
