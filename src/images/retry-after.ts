/**
 * The `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, as milliseconds from
 * `nowMs`, bounded to [0, 1 hour] so that no registry can park a look for longer. Undefined when
 * the header is absent or is neither form. Pure.
 */

/** The longest wait a registry can ask for. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/** Milliseconds to wait, or undefined when `value` says nothing usable. */
export function retryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '' || text.length > 64) return undefined;
  if (/^[0-9]+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  // An HTTP-date names a weekday and GMT (`Wed, 21 Oct 2026 07:28:00 GMT`); Date.parse alone would
  // take far looser text.
  if (!/^[A-Za-z]{3},? [0-9A-Za-z :-]+ GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS);
}

/** `30s`, `2m`, `1h`: a wait as a message says it. */
export function formatWait(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes}m` : '1h';
}
