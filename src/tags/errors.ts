/** A tags command cannot do what was asked; the message says why and what to do instead. */
export class TagCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TagCommandError';
  }
}
