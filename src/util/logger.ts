import { pino, type Logger } from 'pino';

export type { Logger };
export type LogFormat = 'json' | 'pretty';

/**
 * The process logger: pino JSON lines on stdout, or pino-pretty for people.
 * Env values are never passed to the logger; the redact list is a second line of defence.
 */
export function createLogger(options: { level?: string; format?: LogFormat } = {}): Logger {
  const base = {
    level: options.level ?? 'info',
    base: { name: 'berth' },
    redact: { paths: ['env', '*.env', 'spec.env', '*.spec.env'], censor: '[redacted]' },
  };
  if (options.format === 'pretty') {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: process.stdout.isTTY, ignore: 'pid,hostname,name', translateTime: 'SYS:HH:MM:ss' } },
    });
  }
  return pino(base);
}

/** A logger that discards everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
