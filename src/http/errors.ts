/** The HTTP server could not bind its address (in use, not permitted, no such interface). */
export class ListenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ListenError';
  }
}
