import {
  DEFAULT_LISTEN_LIMITS,
  parseListenAddress,
  type ListenAddress,
  type ListenLimits,
} from '../http/listen-address.js';
import { normalizeHostName } from '../http/guard.js';
import { UsageError } from './usage.js';

/** `run --listen` and the bounds on it. */
export const LISTEN_FLAGS = {
  listen: { type: 'string' },
  'listen-host': { type: 'string', multiple: true },
  'listen-max-connections': { type: 'string' },
  'listen-rate': { type: 'string' },
  'listen-header-timeout': { type: 'string' },
  'listen-request-timeout': { type: 'string' },
} as const;

export interface ListenValues {
  listen?: string | undefined;
  'listen-host'?: string[] | undefined;
  'listen-max-connections'?: string | undefined;
  'listen-rate'?: string | undefined;
  'listen-header-timeout'?: string | undefined;
  'listen-request-timeout'?: string | undefined;
}

export interface ListenSettings {
  address: ListenAddress;
  limits: ListenLimits;
}

/** What the listen flags ask for: undefined without --listen (and then no other listen flag may be given). */
export function listenSettings(values: ListenValues): ListenSettings | undefined {
  const text = values.listen;
  if (text === undefined) {
    const stray = (Object.keys(LISTEN_FLAGS) as (keyof ListenValues)[]).find(
      (flag) => flag !== 'listen' && values[flag] !== undefined,
    );
    if (stray !== undefined) throw new UsageError(`--${stray} needs --listen`);
    return undefined;
  }
  const address = parseListenAddress(text);
  if (!address) throw new UsageError(`--listen "${text}" is not HOST:PORT (e.g. 127.0.0.1:9090)`);
  const hosts = (values['listen-host'] ?? []).map((name) => {
    const host = normalizeHostName(name);
    if (host === undefined)
      throw new UsageError(
        `--listen-host "${name}" is not a host name (a DNS name without port or path, e.g. berth.example.com; IP addresses are always accepted)`,
      );
    return host;
  });
  const d = DEFAULT_LISTEN_LIMITS;
  const headerTimeoutMs =
    whole(values['listen-header-timeout'], 'listen-header-timeout', d.headerTimeoutMs / 1000) * 1000;
  const requestTimeoutMs =
    whole(values['listen-request-timeout'], 'listen-request-timeout', d.requestTimeoutMs / 1000) * 1000;
  if (headerTimeoutMs > requestTimeoutMs)
    throw new UsageError(
      `--listen-header-timeout (${headerTimeoutMs / 1000}) must not exceed --listen-request-timeout (${requestTimeoutMs / 1000}): the headers are part of the request`,
    );
  return {
    address,
    limits: {
      hosts,
      maxConnections: whole(values['listen-max-connections'], 'listen-max-connections', d.maxConnections),
      ratePerMinute: whole(values['listen-rate'], 'listen-rate', d.ratePerMinute),
      headerTimeoutMs,
      requestTimeoutMs,
      keepAliveTimeoutMs: d.keepAliveTimeoutMs,
    },
  };
}

function whole(raw: string | undefined, flag: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < 1)
    throw new UsageError(`--${flag} must be a whole number at least 1, not "${raw}"`);
  return value;
}
