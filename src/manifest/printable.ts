/**
 * Text from a manifest (values, keys, file names, YAML error reasons) shown inside a problem
 * message. A problem is printed as one `file:line:col: message` line, so nothing a manifest
 * contains may break that line or make it unreadably long.
 */

/** Characters that end a line or do not show in a terminal: C0 and C1 controls, DEL, U+2028, U+2029. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Longest text `quote` shows whole; longer text is cut to this many characters and its length given. */
export const MAX_QUOTED_LENGTH = 100;

/** `text` with every unprintable character written as an escape (`\n`, `\u0085`), so it is one line. Idempotent. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A string from a manifest, double-quoted and escaped like JSON, on one line:
 * `"web"`, `"a\nb"`; beyond MAX_QUOTED_LENGTH characters it is cut: `"aaaa"… (5000 characters)`.
 */
export function quote(text: string): string {
  if (text.length <= MAX_QUOTED_LENGTH) return printable(JSON.stringify(text));
  return `${printable(JSON.stringify(text.slice(0, MAX_QUOTED_LENGTH)))}… (${text.length} characters)`;
}
