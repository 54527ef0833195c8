/**
 * The rules of `spec.imagePolicy` the schema cannot state, shared by validation (which reports
 * them at file:line:col) and by the policy that picks tags (src/images/policy.ts): a semver range
 * that parses, and a tag pattern that compiles with RE2 (re2js: matching takes time linear in the
 * tag whatever the pattern says, so no manifest author can hang berth with `(a+)+$`), names the
 * group `key`, and stays small. Pure.
 */
import { createRequire } from 'node:module';
import type * as Re2js from 're2js';
import type { RE2JS } from 're2js';
import type * as Semver from 'semver';
import { printable } from './printable.js';

/**
 * re2js and semver, loaded the first time a manifest has an image policy: reading and validating
 * manifests without one (nearly all of them, `berth validate` of a large directory) pays nothing
 * for either (each costs tens of milliseconds to load).
 */
const requirePackage = createRequire(import.meta.url);
let re2jsModule: typeof Re2js | undefined;
let semverModule: typeof Semver | undefined;
const re2js = (): typeof Re2js => (re2jsModule ??= requirePackage('re2js') as typeof Re2js);
const semver = (): typeof Semver => (semverModule ??= requirePackage('semver') as typeof Semver);

/** Longest pattern or semver range accepted, in characters (the schema's maxLength says the same). */
export const MAX_POLICY_TEXT_LENGTH = 256;

/**
 * Most instructions a pattern may compile to. A tag has at most 128 characters, so a pattern
 * that needs more (`[a-z]{1000}`) can match nothing useful, and each instruction costs time on
 * every tag matched against it. The size is estimated from the text before compiling (compiling a
 * 256-character pattern such as `(?:.{128}.{128}...){7}` takes a third of a second), and checked
 * exactly after.
 */
export const MAX_PATTERN_PROGRAM_SIZE = 1000;

/** The named group whose text tags sort by. */
export const PATTERN_KEY_GROUP = 'key';

/** How many characters of the author's range or pattern a message shows. */
const SHOWN_LENGTH = 64;

/** A pattern compiled, or why it cannot be (a phrase after the quoted pattern, one line). */
export type CompiledTagPattern = { ok: true; regex: RE2JS } | { ok: false; problem: string };

/**
 * `pattern` compiled with RE2 syntax (`(?P<key>...)`, also `(?<key>...)`), or the problem:
 * too long, not RE2, no group named `key`, or too large a program. The problem quotes at most
 * 64 characters of the pattern, on one line:
 * `"(?P<key>a" is not an RE2 regular expression (missing closing ): "(?P<key>a")`. A pattern whose
 * text alone shows it far too large is refused without being compiled.
 */
export function compileTagPattern(pattern: string): CompiledTagPattern {
  const shown = quoteAtMost(pattern, SHOWN_LENGTH);
  if (pattern.length > MAX_POLICY_TEXT_LENGTH)
    return { ok: false, problem: `${shown} is longer than ${MAX_POLICY_TEXT_LENGTH} characters` };
  // The estimate runs about twice the real size: only a pattern far too large is refused unseen.
  const estimate = estimatedProgramSize(pattern);
  if (estimate > 4 * MAX_PATTERN_PROGRAM_SIZE)
    return { ok: false, problem: tooLarge(shown, `would compile to about ${estimate} instructions`) };
  let regex: RE2JS;
  try {
    regex = re2js().RE2JS.compile(pattern);
  } catch (error) {
    return { ok: false, problem: `${shown} is not an RE2 regular expression (${reasonOf(error)})` };
  }
  if (!Object.hasOwn(regex.namedGroups(), PATTERN_KEY_GROUP))
    return {
      ok: false,
      problem: `${shown} has no group named "${PATTERN_KEY_GROUP}"; write (?P<${PATTERN_KEY_GROUP}>...) around the part tags sort by`,
    };
  const size = regex.programSize();
  if (size > MAX_PATTERN_PROGRAM_SIZE)
    return { ok: false, problem: tooLarge(shown, `compiles to ${size} instructions`) };
  return { ok: true, regex };
}

function tooLarge(shown: string, size: string): string {
  return `${shown} ${size}, more than ${MAX_PATTERN_PROGRAM_SIZE} (a tag has at most 128 characters: lower the repeat counts)`;
}

/** A repeat count: `{n}`, `{n,}` or `{n,m}`. */
const REPEAT = /^\{([0-9]{1,6})(,([0-9]{0,6}))?\}/;

/**
 * An upper estimate of the instructions RE2 compiles `pattern` to, from its text alone and in one
 * pass: each literal, escape or class counts 1, a group its contents and 2, an alternation its
 * branches and 1 each, `*` `+` `?` 1 more, and a repeat `{n,m}` multiplies what it repeats by m
 * (n+1 for `{n,}`). Text RE2 would read otherwise (`\Q...\E`) can only be estimated higher.
 */
export function estimatedProgramSize(pattern: string): number {
  interface Frame {
    /** Finished branches of the group, and one instruction per `|`. */
    branches: number;
    /** The branch being read. */
    current: number;
    /** Size of the last atom of the current branch: what a repeat repeats. */
    last: number;
  }
  const stack: Frame[] = [{ branches: 0, current: 0, last: 0 }];
  const atom = (size: number) => {
    const frame = stack[stack.length - 1] as Frame;
    frame.current += size;
    frame.last = size;
  };
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    const frame = stack[stack.length - 1] as Frame;
    if (c === '\\') {
      // `\p{Greek}`, `\x{263a}`: the braces belong to the escape
      const braced = /^\\[pPx]\{[^}]*\}/.exec(pattern.slice(i, i + 64));
      i += braced ? braced[0].length : 2;
      atom(1);
    } else if (c === '[') {
      i = endOfClass(pattern, i);
      atom(1);
    } else if (c === '(') {
      stack.push({ branches: 0, current: 0, last: 0 });
      i++;
    } else if (c === ')') {
      if (stack.length > 1) {
        stack.pop();
        atom(frame.branches + frame.current + 2);
      }
      i++;
    } else if (c === '|') {
      frame.branches += frame.current + 1;
      frame.current = 0;
      frame.last = 0;
      i++;
    } else if (c === '*' || c === '+' || c === '?') {
      frame.current += 1;
      i++;
    } else if (c === '{' && REPEAT.test(pattern.slice(i, i + 16))) {
      const [text, low = '0', comma, high] = REPEAT.exec(pattern.slice(i, i + 16)) as RegExpExecArray;
      const times =
        comma === undefined ? Number(low) : high === '' ? Number(low) + 1 : Math.max(Number(low), Number(high));
      frame.current += frame.last * (times - 1) + times;
      frame.last *= times;
      i += text.length;
    } else {
      atom(1);
      i++;
    }
  }
  return stack.reduce((sum, frame) => sum + frame.branches + frame.current, 0);
}

/** The index after the class that opens at `start` (`[^]a-z]`, `[[:alpha:]]`), or the end of the text. */
function endOfClass(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^') i++;
  if (pattern[i] === ']') i++;
  while (i < pattern.length) {
    if (pattern[i] === '\\') i += 2;
    else if (pattern.startsWith('[:', i)) {
      const close = pattern.indexOf(':]', i + 2);
      i = close === -1 ? pattern.length : close + 2;
    } else if (pattern[i] === ']') return i + 1;
    else i++;
  }
  return pattern.length;
}

/** Why `range` is not a semver range (`"not a range" is not a semver range`), or undefined when it is one. */
export function semverRangeProblem(range: string): string | undefined {
  const shown = quoteAtMost(range, SHOWN_LENGTH);
  if (range.length > MAX_POLICY_TEXT_LENGTH) return `${shown} is longer than ${MAX_POLICY_TEXT_LENGTH} characters`;
  return semver().validRange(range, { loose: false }) === null ? `${shown} is not a semver range` : undefined;
}

/** Why RE2 refused a pattern, in its own words and with the part it refused, on one line: `missing closing ): "(?P<key>a"`. */
function reasonOf(error: unknown): string {
  if (error instanceof re2js().RE2JSSyntaxException) {
    const part = error.getPattern();
    const described = printable(error.getDescription()).slice(0, SHOWN_LENGTH);
    return part === null || part === '' ? described : `${described}: ${quoteAtMost(part, SHOWN_LENGTH / 2)}`;
  }
  return printable(error instanceof Error ? error.message : String(error)).slice(0, SHOWN_LENGTH);
}

/** `text` double-quoted on one line, cut after `limit` characters with its length given. */
function quoteAtMost(text: string, limit: number): string {
  if (text.length <= limit) return printable(JSON.stringify(text));
  return `${printable(JSON.stringify(text.slice(0, limit)))}… (${text.length} characters)`;
}
