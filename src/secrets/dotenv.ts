/**
 * A dotenv file's variables, as the `dotenv` package reads them (its `parse`, which Node users
 * mean by dotenv): `NAME=value` (also `NAME: value`), `export NAME=value`, `#` comments on their
 * own lines and after a value, blank lines, empty values; values in single quotes or backticks
 * taken as written, in double quotes with `\n` and `\r` expanded; a quoted value may span lines
 * (a PEM key); a name given twice takes its last value. Pure.
 *
 * One difference: `dotenv.parse` skips a line it cannot read without a word, and berth promises
 * that such a line makes the app Invalid. So the lines dotenv's rule reads are marked, and any
 * other line that is neither blank nor a comment is an error naming the line, never its text.
 */
import { parse } from 'dotenv';

/**
 * dotenv's rule for one variable (`LINE` in its parser, unchanged since dotenv 15): at a line's
 * start, optional `export`, a name of letters, digits, `_`, `.` and `-`, `=` (or `:` and a space),
 * then a quoted value (which may hold newlines) or the rest of the line up to a `#`, and an
 * optional comment. A match always spans whole lines.
 */
const LINE =
  /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/gm;

export function parseDotenv(text: string): Record<string, string> {
  // As dotenv does before it matches.
  const lines = text.replace(/\r\n?/g, '\n');
  const unread = firstUnreadLine(lines);
  if (unread !== undefined) throw new Error(`line ${unread} is not NAME=value`);
  return { ...parse(lines) };
}

/** The 1-based number of the first line that is not blank, not a comment, and not part of a variable dotenv reads. */
function firstUnreadLine(text: string): number | undefined {
  const lines = text.split('\n');
  const read = new Uint8Array(lines.length);
  const lineOf = lineIndex(text);
  for (const match of text.matchAll(LINE)) {
    const first = lineOf(match.index);
    const last = lineOf(match.index + match[0].length);
    read.fill(1, first, last + 1);
  }
  const index = lines.findIndex((line, i) => read[i] === 0 && line.trim() !== '' && !line.trimStart().startsWith('#'));
  return index === -1 ? undefined : index + 1;
}

/** The 0-based line of an offset of `text`. */
function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] as number) <= offset) low = mid;
      else high = mid - 1;
    }
    return low;
  };
}
