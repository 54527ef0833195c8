/**
 * Env values are secrets: text that may echo them (an engine's error, a container's output) is
 * passed through here before berth logs or stores it.
 */

/** What a hidden value reads as. */
export const REDACTED = '<redacted>';

/** Values shorter than this are not redacted on their own (they would mangle ids and port numbers); `KEY=value` always is. */
const MIN_REDACTED_VALUE_LENGTH = 4;

/** The strings to hide for `env`: every `KEY=value`, and every value long enough to be told apart. */
export function secretsOf(env: Readonly<Record<string, string>>): string[] {
  const entries = Object.entries(env);
  return [
    ...entries.map(([key, value]) => `${key}=${value}`),
    ...entries.map(([, value]) => value).filter((value) => value.length >= MIN_REDACTED_VALUE_LENGTH),
  ];
}

/** `text` with every secret replaced by `<redacted>`, longest first. */
export function redact(text: string, secrets: readonly string[]): string {
  const longestFirst = [...secrets].sort((a, b) => b.length - a.length);
  return longestFirst
    .filter((secret) => secret !== '')
    .reduce((redacted, secret) => redacted.split(secret).join(REDACTED), text);
}
