/**
 * The process signals `berth run` answers: SIGTERM and SIGINT stop it, SIGUSR2 (`berth retry`)
 * wakes it, SIGHUP (`berth sync`) makes its git source look at the remote.
 */

/** The signals of one `berth run`. */
export interface RunSignals {
  /**
   * The first SIGTERM or SIGINT. Listened for from runSignals() on, so a signal that arrives while
   * berth is starting stops it cleanly once started.
   */
  readonly stop: Promise<NodeJS.Signals>;
  /** From now until close(): SIGUSR2 calls `retry`, SIGHUP calls `sync`. */
  answer(handlers: { retry(): void; sync(): void }): void;
  /** Stops answering SIGUSR2 and SIGHUP. */
  close(): void;
}

/** Starts listening for SIGTERM and SIGINT now; SIGUSR2 and SIGHUP once answer() is called. */
export function runSignals(): RunSignals {
  const stop = new Promise<NodeJS.Signals>((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
      resolve(signal);
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
  let answered: { retry(): void; sync(): void } | undefined;
  const retry = () => answered?.retry();
  const sync = () => answered?.sync();
  return {
    stop,
    answer: (handlers) => {
      answered = handlers;
      process.on('SIGUSR2', retry);
      process.on('SIGHUP', sync);
    },
    close: () => {
      process.off('SIGUSR2', retry);
      process.off('SIGHUP', sync);
    },
  };
}
