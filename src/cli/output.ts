/** Where a command writes; the process streams in production, buffers in tests. */
export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}
