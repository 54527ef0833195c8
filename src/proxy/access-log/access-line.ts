/**
 * One access-log line of nginx's, as berth's canary log format writes it (pure):
 *
 *     <token> {"upstream_addr":"...","upstream_status":"...","upstream_response_time":"...",
 *              "status":"...","request_time":"...","msec":"..."}
 *
 * (one line; every value a string, nginx's `escape=json`). The token is the collector's secret
 * of this run: a line without it is not nginx's and is refused before anything else is read.
 */
import { timingSafeEqual } from 'node:crypto';
import { ACCESS_LOG_FIELDS, type AccessLogField } from '../access-log-format.js';
import { splitUpstreamAttempts, type UpstreamAttempt } from './upstream-attempts.js';

/** One request nginx answered, with every upstream attempt it made for it, in order. */
export interface AccessEntry {
  /** When nginx logged it (`$msec`), in ms since the epoch: nginx's clock. */
  at: number;
  /** The status nginx answered the client with (`$status`). */
  status: number;
  /** `$request_time` in ms. */
  requestMs: number;
  /** Each upstream attempt, in the order nginx made them (none when nginx answered itself). */
  attempts: UpstreamAttempt[];
}

/** Why a line was not read: `token` (not ours: someone else wrote it) or `malformed` (ours, unreadable). */
export type AccessLineRefusal = 'token' | 'malformed';

/**
 * Reads one line: the entry, or why not. The token is compared in constant time; the rest is read
 * only after it matched. `$msec` must be a time in seconds with at most 3 decimals; `$status` a
 * 3-digit code; the upstream lists must have as many items as each other (nginx writes them from
 * one array).
 */
export function parseAccessLine(line: string, token: string): AccessEntry | AccessLineRefusal {
  const space = line.indexOf(' ');
  if (space < 0 || !sameToken(line.slice(0, space), token)) return 'token';
  let document: unknown;
  try {
    document = JSON.parse(line.slice(space + 1));
  } catch {
    return 'malformed';
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return 'malformed';
  const record = document as Record<string, unknown>;
  const values: Partial<Record<AccessLogField, string>> = {};
  for (const field of ACCESS_LOG_FIELDS) {
    const value = record[field];
    if (typeof value !== 'string') return 'malformed';
    values[field] = value;
  }
  const at = secondsToMs(values.msec!);
  const requestMs = secondsToMs(values.request_time!);
  if (at === undefined || requestMs === undefined || !/^\d{3}$/.test(values.status!)) return 'malformed';
  const attempts = splitUpstreamAttempts(
    values.upstream_addr!,
    values.upstream_status!,
    values.upstream_response_time!,
  );
  if (attempts === undefined) return 'malformed';
  return { at, status: Number(values.status), requestMs, attempts };
}

function sameToken(candidate: string, token: string): boolean {
  const a = Buffer.from(candidate);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** nginx's `%T.%03M` seconds (`1733526366.123`, `0.004`) as whole ms; `undefined` otherwise. */
export function secondsToMs(text: string): number | undefined {
  const match = /^(\d{1,12})(?:\.(\d{1,3}))?$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * 1000 + Number((match[2] ?? '').padEnd(3, '0'));
}
