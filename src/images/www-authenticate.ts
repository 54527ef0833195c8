/**
 * The `WWW-Authenticate` header (RFC 9110 §11.6.1), parsed strictly: one or more comma-separated
 * challenges, each an auth-scheme followed by either a token68 or auth-params whose values are
 * tokens or quoted-strings. Several header lines joined with ", " (as fetch's Headers joins them)
 * parse as their challenges in order. Scheme and parameter names are lowercased; a parameter named
 * twice in one challenge, a control character, an unterminated quoted-string or a header over 8 KiB
 * is refused. Linear in the header's length. Pure.
 *
 * No npm package fit: `auth-header` (last released 2017) is a lenient regex that drops what it does
 * not understand and keys parameters on a plain object; `www-authenticate` is Basic/Digest-only.
 */

export interface Challenge {
  /** Lowercased: `basic`, `bearer`. */
  scheme: string;
  /** Lowercased names, values unquoted. */
  params: ReadonlyMap<string, string>;
  /** The token68 form (`Negotiate abc==`), instead of params. */
  token68?: string;
}

export class ChallengeSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChallengeSyntaxError';
  }
}

const MAX_HEADER = 8 * 1024;
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

/** Every challenge of `header`, in order; throws ChallengeSyntaxError when it is not one. */
export function parseChallenges(header: string): Challenge[] {
  if (header.length > MAX_HEADER) throw new ChallengeSyntaxError(`over ${MAX_HEADER} characters`);
  const parser = new Parser(header);
  const challenges: Challenge[] = [];
  parser.skipListSeparators();
  while (!parser.atEnd()) {
    challenges.push(parser.challenge());
    parser.skipListSeparators();
  }
  if (challenges.length === 0) throw new ChallengeSyntaxError('no challenge');
  return challenges;
}

class Parser {
  private pos = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** Optional whitespace and empty list elements (`, ,`), as RFC 9110's list rule allows. */
  skipListSeparators(): void {
    while (!this.atEnd() && /[ \t,]/.test(this.peek())) this.pos += 1;
  }

  challenge(): Challenge {
    const scheme = this.token('an auth-scheme').toLowerCase();
    const params = new Map<string, string>();
    if (this.atEnd() || this.peek() === ',') return { scheme, params };
    if (this.peek() !== ' ') throw this.fail('a space after the auth-scheme');
    while (this.peek() === ' ') this.pos += 1;
    if (this.atEnd() || this.peek() === ',') return { scheme, params };

    const token68 = this.tryToken68();
    if (token68 !== undefined) return { scheme, params, token68 };

    for (;;) {
      this.param(params);
      this.skipWhitespace();
      if (this.atEnd()) return { scheme, params };
      if (this.peek() !== ',') throw this.fail('"," between auth-params');
      // After a comma: another param of this challenge (`name =`), or the next challenge.
      const afterComma = this.pos;
      this.skipListSeparators();
      if (this.atEnd()) return { scheme, params };
      if (!this.startsParam()) {
        this.pos = afterComma;
        return { scheme, params };
      }
    }
  }

  /** A token68 that stands alone (followed by the end or a comma), else undefined with nothing consumed. */
  private tryToken68(): string | undefined {
    const start = this.pos;
    let end = start;
    while (end < this.text.length && TOKEN68_CHAR.test(this.text[end] ?? '')) end += 1;
    if (end === start) return undefined;
    while (end < this.text.length && this.text[end] === '=') end += 1;
    let after = end;
    while (after < this.text.length && /[ \t]/.test(this.text[after] ?? '')) after += 1;
    if (after < this.text.length && this.text[after] !== ',') return undefined;
    this.pos = after;
    return this.text.slice(start, end);
  }

  /** Whether a `token BWS "="` starts here (an auth-param rather than the next challenge). */
  private startsParam(): boolean {
    let at = this.pos;
    while (at < this.text.length && TCHAR.test(this.text[at] ?? '')) at += 1;
    if (at === this.pos) return false;
    while (at < this.text.length && /[ \t]/.test(this.text[at] ?? '')) at += 1;
    return this.text[at] === '=';
  }

  private param(params: Map<string, string>): void {
    const name = this.token('an auth-param name').toLowerCase();
    this.skipWhitespace();
    if (this.peek() !== '=') throw this.fail(`"=" after ${name}`);
    this.pos += 1;
    this.skipWhitespace();
    const value = this.peek() === '"' ? this.quotedString() : this.token(`a value for ${name}`);
    if (params.has(name)) throw new ChallengeSyntaxError(`the auth-param ${name} is given twice`);
    params.set(name, value);
  }

  private token(what: string): string {
    const start = this.pos;
    while (!this.atEnd() && TCHAR.test(this.peek())) this.pos += 1;
    if (this.pos === start) throw this.fail(what);
    return this.text.slice(start, this.pos);
  }

  private quotedString(): string {
    this.pos += 1;
    let value = '';
    for (;;) {
      if (this.atEnd()) throw new ChallengeSyntaxError('an unterminated quoted-string');
      const char = this.peek();
      this.pos += 1;
      if (char === '"') return value;
      if (char === '\\') {
        if (this.atEnd()) throw new ChallengeSyntaxError('an unterminated quoted-string');
        const escaped = this.peek();
        if (!isQuotedText(escaped) && escaped !== '"' && escaped !== '\\') throw this.fail('a quotable character');
        value += escaped;
        this.pos += 1;
      } else if (isQuotedText(char)) {
        value += char;
      } else {
        throw this.fail('a character allowed in a quoted-string');
      }
    }
  }

  private skipWhitespace(): void {
    while (!this.atEnd() && /[ \t]/.test(this.peek())) this.pos += 1;
  }

  private peek(): string {
    return this.text[this.pos] ?? '';
  }

  private fail(expected: string): ChallengeSyntaxError {
    return new ChallengeSyntaxError(`expected ${expected} at character ${this.pos + 1}`);
  }
}

/** qdtext: HTAB, SP, visible ASCII but `"` and `\`, and obs-text (0x80-0xFF). */
function isQuotedText(char: string): boolean {
  const code = char.charCodeAt(0);
  return (
    code === 0x09 ||
    code === 0x20 ||
    code === 0x21 ||
    (code >= 0x23 && code <= 0x5b) ||
    (code >= 0x5d && code <= 0x7e) ||
    (code >= 0x80 && code <= 0xff)
  );
}
