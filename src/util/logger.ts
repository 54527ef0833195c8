import { pino, type Logger } from 'pino';
import { formatPrettyLine, type Paint } from './pretty-line.js';

export type { Logger };
export type LogFormat = 'json' | 'pretty';

/**
 * The process logger: pino JSON lines on stdout, or, for people, the Dokku-like lines of
 * ./pretty-line.ts (pino-pretty in-process, coloured on a terminal; loaded only then).
 * Env values are never passed to the logger; the redact list is a second line of defence.
 */
export async function createLogger(options: { level?: string; format?: LogFormat } = {}): Promise<Logger> {
  const base = {
    level: options.level ?? 'info',
    base: { name: 'berth' },
    redact: { paths: ['env', '*.env', 'spec.env', '*.spec.env'], censor: '[redacted]' },
  };
  if (options.format === 'pretty') {
    const { PinoPretty } = await import('pino-pretty');
    const stream = PinoPretty({
      colorize: process.stdout.isTTY,
      ignore: 'pid,hostname,name,time,level',
      hideObject: true,
      sync: true,
      messageFormat: (log, _messageKey, _levelLabel, { colors }) => {
        const paint: Paint = { dim: colors.gray, bold: colors.bold, yellow: colors.yellow, red: colors.red };
        return formatPrettyLine(log, paint);
      },
    });
    return pino(base, stream);
  }
  return pino(base);
}
