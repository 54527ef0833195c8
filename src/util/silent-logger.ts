import type { Logger } from 'pino';

/**
 * A logger that discards everything (commands that print their own output, tests, library use),
 * without loading pino: the parts of pino's Logger berth calls, each doing nothing.
 */
export function silentLogger(): Logger {
  const nothing = () => undefined;
  const logger = {
    level: 'silent',
    trace: nothing,
    debug: nothing,
    info: nothing,
    warn: nothing,
    error: nothing,
    fatal: nothing,
    silent: nothing,
    child: () => logger,
    bindings: () => ({}),
    isLevelEnabled: () => false,
    flush: (done?: (error?: Error) => void) => done?.(),
  };
  return logger as unknown as Logger;
}
