import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { LogFormat } from '../util/logger.js';
import { UsageError } from './usage.js';
import { APP_NAME } from '../manifest/app-name.js';

export interface SharedOptions {
  namespace: string;
  stateDir: string;
  allowHostPaths: string[];
  logFormat: LogFormat;
  logLevel: string;
}

const NAMESPACE = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

export const SHARED_FLAGS = {
  namespace: { type: 'string', default: 'dokku' },
  'state-dir': { type: 'string', default: '/var/lib/berth' },
  'allow-host-path': { type: 'string', multiple: true, default: [] },
  'log-format': { type: 'string', default: 'json' },
  'log-level': { type: 'string', default: 'info' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** parseArgs with berth's shared flags added; unknown flags are usage errors. */
export function parseCommand<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  flags: T,
  allowPositionals: boolean,
) {
  try {
    return parseArgs({ args, options: { ...SHARED_FLAGS, ...flags }, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function sharedOptions(values: Record<string, unknown>): SharedOptions {
  const namespace = String(values.namespace);
  if (!NAMESPACE.test(namespace))
    throw new UsageError(
      `--namespace "${namespace}" is not a valid Docker repository component (lowercase letters, digits, '.', '_', '-')`,
    );
  const logFormat = String(values['log-format']);
  if (logFormat !== 'json' && logFormat !== 'pretty')
    throw new UsageError(`--log-format must be json or pretty, not "${logFormat}"`);
  return {
    namespace,
    stateDir: String(values['state-dir']),
    allowHostPaths: (values['allow-host-path'] as string[]).map((p) => p.replace(/\/+$/, '') || '/'),
    logFormat,
    logLevel: String(values['log-level']),
  };
}

export function positiveInteger(
  values: Record<string, unknown>,
  flag: string,
  minimum = 1,
  maximum = Number.MAX_SAFE_INTEGER,
): number {
  const raw = String(values[flag]);
  const value = Number(raw);
  if (!Number.isInteger(value) || value < minimum || value > maximum) {
    const range = maximum === Number.MAX_SAFE_INTEGER ? `at least ${minimum}` : `from ${minimum} to ${maximum}`;
    throw new UsageError(`--${flag} must be a whole number ${range}, not "${raw}"`);
  }
  return value;
}

/** The `APP [TAG]` positionals of the tags and history commands, checked. */
export function appArguments(command: string, positionals: string[], withTag: boolean): { app: string; tag: string } {
  const expected = withTag ? 2 : 1;
  if (positionals.length !== expected)
    throw new UsageError(`${command} takes ${withTag ? 'APP TAG' : 'APP'}, got ${positionals.length} argument(s)`);
  const [app = '', tag = ''] = positionals;
  if (!APP_NAME.test(app))
    throw new UsageError(`"${app}" is not an app name (lowercase letters, digits and '-', 1-63 characters)`);
  return { app, tag };
}
