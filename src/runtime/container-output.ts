/**
 * Text that comes out of a container (an exec's output, a container's log) is hostile: it may be
 * endless, it may carry terminal escapes, and it may echo the app's secrets. Every such text
 * reaches berth through here, in the runtime, before anything logs, stores, notifies or shows it:
 *
 * - **bounded**: only the last CONTAINER_OUTPUT_LIMIT_BYTES bytes are kept (a ring buffer: a flood
 *   costs time to read, never memory), the rest dropped with the note `[output truncated: N bytes
 *   dropped]` on a line of its own at the top;
 * - **stripped** of terminal control: escape sequences (colours, cursor moves, window titles) go
 *   whole, other control and invisible format characters go, `\r` becomes a line break; newlines
 *   and tabs stay;
 * - **redacted**: every env value of the app (the manifest's and its env files'), and every
 *   decrypted secret file (whole, and line by line), replaced by `<redacted>`; also a piece of one
 *   left at the top where the output was cut.
 *
 * Redaction is against accidental disclosure (a probe that prints its connection string, a
 * migration that logs its settings): a container that means to leak a secret it holds can always
 * encode it first.
 */
import type { AppSpec } from '../manifest/types.js';
import { redact, REDACTED, secretsOf } from '../util/redact.js';
import { stripControl } from '../util/strip-control.js';

/** What berth keeps of one output read from a container: its last 64 KiB. */
export const CONTAINER_OUTPUT_LIMIT_BYTES = 64 * 1024;

/** What berth logs and records of an output (history, events): its last lines, at most this many characters. */
const KEPT_OUTPUT_CHARS = 4 * 1024;

/** A secret file shorter than this is not redacted (it would mangle ids and port numbers), as env values. */
const MIN_SECRET_FILE_LENGTH = 4;

/** A line of a secret file shorter than this is not redacted on its own (`{`, `true`, `---`). */
const MIN_SECRET_LINE_LENGTH = 8;

/** The last `limit` bytes written to it, in a buffer of fixed size, and how many came before them. */
export class OutputTail {
  private readonly ring: Buffer;
  /** Where the next byte goes. */
  private end = 0;
  private total = 0;

  constructor(readonly limit: number = CONTAINER_OUTPUT_LIMIT_BYTES) {
    this.ring = Buffer.alloc(limit);
  }

  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    if (this.limit === 0) return;
    const data = chunk.length > this.limit ? chunk.subarray(chunk.length - this.limit) : chunk;
    const first = Math.min(data.length, this.limit - this.end);
    this.ring.set(data.subarray(0, first), this.end);
    this.ring.set(data.subarray(first), 0);
    this.end = (this.end + data.length) % this.limit;
  }

  /** Bytes written in all. */
  get written(): number {
    return this.total;
  }

  /** Bytes written before the ones kept. */
  get dropped(): number {
    return Math.max(0, this.total - this.limit);
  }

  /** The bytes kept, oldest first (a copy). */
  bytes(): Buffer {
    if (this.total <= this.limit) return Buffer.from(this.ring.subarray(0, this.total));
    return Buffer.concat([this.ring.subarray(this.end), this.ring.subarray(0, this.end)]);
  }
}

/**
 * Every value a text from the app's containers (or any message) must not show: each env entry as
 * `KEY=value` and each value of 4 characters or more, the manifest's and its env files' alike,
 * and each line of 8 characters or more of a value of several lines (a PEM key in an env file);
 * each decrypted secret file whole and each of its lines of 8 characters or more.
 */
export function secretValues(spec: AppSpec): string[] {
  const env = spec.resolved ? { ...spec.env, ...spec.resolved.env } : spec.env;
  const files = (spec.resolved?.files ?? []).flatMap((f) => {
    const text = f.content.toString('utf8');
    return [text, text.trim(), ...longLinesOf(text)].filter((secret) => secret.trim().length >= MIN_SECRET_FILE_LENGTH);
  });
  const valueLines = Object.values(env).flatMap((value) => (/[\r\n]/.test(value) ? longLinesOf(value) : []));
  return [...new Set([...secretsOf(env), ...valueLines, ...files])];
}

/** The lines of `text` long enough to be told apart, trimmed. */
function longLinesOf(text: string): string[] {
  return text
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter((line) => line.length >= MIN_SECRET_LINE_LENGTH);
}

/**
 * The one path from a container's bytes to text berth uses: `bytes` are the last ones of an
 * output (`dropped` bytes came before them), returned as text stripped of terminal control and
 * with every one of `secrets` redacted; a cut output starts with the note on its own line.
 */
export function containerText(bytes: Uint8Array, dropped: number, secrets: readonly string[]): string {
  let text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let cutMidLine = false;
  if (dropped > 0) {
    // The first line was cut: drop what is left of it, so no piece of a secret starts the text.
    const newline = text.indexOf('\n');
    if (newline >= 0) {
      dropped += Buffer.byteLength(text.slice(0, newline + 1));
      text = text.slice(newline + 1);
    } else {
      cutMidLine = true;
    }
  }
  const hidden = [...secrets, ...secrets.map((secret) => stripControl(secret))].filter((secret) => secret !== '');
  text = redact(stripControl(text), hidden);
  if (cutMidLine) text = redactLeadingPiece(text, hidden);
  return dropped > 0 ? `${truncationNote(dropped)}\n${text}` : text;
}

function truncationNote(dropped: number): string {
  return `[output truncated: ${dropped} bytes dropped]`;
}

const NOTE = /^\[output truncated: (\d+) bytes dropped\]\n/;

/**
 * The last `lines` lines of a container's text, and of those at most `chars` characters (cut at
 * a line break where one is near), under one truncation note counting everything left out.
 */
export function lastLinesOf(text: string, lines = 20, chars = KEPT_OUTPUT_CHARS): string {
  const note = NOTE.exec(text);
  let dropped = note ? Number(note[1]) : 0;
  let body = note ? text.slice(note[0].length) : text;
  const all = body.replace(/\n+$/, '').split('\n');
  if (all.length > lines) {
    const cut = `${all.slice(0, all.length - lines).join('\n')}\n`;
    dropped += Buffer.byteLength(cut);
    body = all.slice(-lines).join('\n');
  } else {
    body = all.join('\n');
  }
  if (body.length > chars) {
    let start = body.length - chars;
    const newline = body.indexOf('\n', start);
    if (newline >= 0 && newline < body.length - 1) start = newline + 1;
    dropped += Buffer.byteLength(body.slice(0, start));
    body = body.slice(start);
  }
  return dropped > 0 ? `${truncationNote(dropped)}\n${body}` : body;
}

/** `text` with a leading piece of a secret (the end of one, cut off at its start) redacted. */
function redactLeadingPiece(text: string, secrets: readonly string[]): string {
  const first = text[0];
  if (first === undefined) return text;
  let longest = 0;
  for (const secret of secrets) {
    // Ends of `secret` that `text` starts with, longest first; a whole secret was redacted already.
    for (
      let at = secret.indexOf(first, 1);
      at > 0 && secret.length - at > longest;
      at = secret.indexOf(first, at + 1)
    ) {
      if (text.startsWith(secret.slice(at))) {
        longest = secret.length - at;
        break;
      }
    }
  }
  return longest > 0 ? `${REDACTED}${text.slice(longest)}` : text;
}
