/** Another berth holds the namespace's lock (state/lock.ts). */
export class LockHeldError extends Error {
  constructor(
    readonly pid: number,
    readonly file: string,
    readonly namespace: string,
  ) {
    super(`another berth (pid ${pid}) already runs for namespace "${namespace}" (lock ${file})`);
    this.name = 'LockHeldError';
  }
}
