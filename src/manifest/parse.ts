import {
  CORE_SCHEMA,
  EVENT_ID,
  SCALAR_STYLE,
  YAMLException,
  constructFromEvents,
  parseEvents,
  type Event,
} from 'js-yaml';
import type { ManifestProblem } from './types.js';
import { constructPlainDocuments } from './construct-plain.js';
import {
  ANCHOR_START,
  START,
  STRIDE,
  TAG_START,
  VALUE_START,
  decodeEvents,
  packEvents,
  styleAt,
  typeAt,
  type PackedEvents,
} from './packed-events.js';
import { printable } from './printable.js';
import { LineIndex, buildSourceMaps, type Position, type ScalarRange, type SourceMap } from './source-map.js';

/** One non-empty YAML document of a manifest file, with the source position of every node. */
export interface ParsedDocument {
  /** The constructed document (YAML core schema: mappings are plain objects). */
  readonly value: unknown;
  /** 0-based index among all documents of the file, empty ones included. */
  readonly index: number;
  /** Where the document's content begins. */
  readonly start: Position;
  /**
   * Where the node at a JSON pointer (`/spec/ports/0/host`) is written: its key (for mapping
   * members) or its value. Falls back to the nearest ancestor that is written in the source.
   */
  locate(pointer: string, which?: 'key' | 'value'): Position;
  readonly sourceMap: SourceMap;
}

interface ParseResult {
  documents: ParsedDocument[];
  /** At most one: a file that is not valid YAML yields no documents. */
  problems: ManifestProblem[];
}

/**
 * Limits that bound the work any file can cause, whatever it holds (the loader bounds its
 * size). A manifest needs a few levels of nesting, few if any aliases, and some dozens of
 * nodes per app.
 *
 * MAX_DEPTH: mappings and lists nested in one another, the document's own mapping or list
 * counting as the first level (a manifest's `spec.checks.http[0]` is 4 levels deep).
 */
const MAX_DEPTH = 64;
/**
 * js-yaml's own bound, which keeps its recursion short. It counts its nested parse calls, not
 * levels (a scalar leaf is one more, a single-pair mapping in a flow list none), and so stops a
 * file one level short of its number at the earliest (lists of lists of scalars). Three above
 * MAX_DEPTH, it reads every file of MAX_DEPTH + 1 levels whole, for the check of the events
 * (deeperThanLimit) to refuse it at the first level too many; js-yaml stops only deeper files, a
 * level or two further in (the same message, where js-yaml stopped).
 */
const PARSER_DEPTH = MAX_DEPTH + 3;
/** Per document: an alias bomb ("billion laughs") needs many more. */
const MAX_ALIASES = 64;
/**
 * Scalars, collections and aliases (keys included) in the whole file. A node takes at least one
 * character, or (an empty value) follows a key or indicator that does: a text shorter than half
 * the limit cannot reach it, and only longer ones have their nodes counted.
 */
const MAX_NODES = 20_000;

const TAB_MESSAGE = 'invalid YAML: tab character used for indentation (indent with spaces)';
const DEPTH_MESSAGE = `nesting deeper than ${MAX_DEPTH} levels (mappings and lists inside one another) is not allowed`;
const ALIASES_MESSAGE = `more than ${MAX_ALIASES} aliases (*name) in one document are not allowed`;
const NODES_MESSAGE = `more than ${MAX_NODES} YAML nodes (keys, values and list items) in one file are not allowed`;

/** js-yaml's reasons for exceeding our limits, replaced by messages that say what to change. */
const LIMIT_MESSAGES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^nesting exceeded maxDepth\b/, DEPTH_MESSAGE],
  [/^aliases exceeded maxAliases\b/, ALIASES_MESSAGE],
];

/**
 * A text's parser events, packed, or why it is not YAML: plain data, so that one thread can
 * tokenize a file and another construct and validate it (read/pool.ts).
 */
export type Tokens = { events: PackedEvents } | { failure: YamlFailure };

/** Why js-yaml refused a text. */
export interface YamlFailure {
  /** js-yaml's reason; for an unexpected error (`yaml` false), its message. */
  reason: string;
  /** 0-based, where js-yaml marked the error. */
  line: number;
  column: number;
  yaml: boolean;
}

/** A text's parser events, packed on their own. */
export function tokenizeManifestText(text: string): Tokens {
  const events = manifestEvents(text);
  return Array.isArray(events) ? { events: packEvents(events) } : events;
}

/** js-yaml's events of a text, within the nesting limit, or why it is not YAML. */
export function manifestEvents(text: string): Event[] | { failure: YamlFailure } {
  let events: Event[];
  try {
    events = parseEvents(text, { maxDepth: PARSER_DEPTH });
  } catch (error) {
    return { failure: yamlFailure(error) };
  }
  const tooDeep = deeperThanLimit(events);
  if (tooDeep === undefined) return events;
  const position = new LineIndex(text).position(tooDeep);
  return {
    failure: {
      reason: `nesting exceeded maxDepth (${MAX_DEPTH})`,
      line: position.line - 1,
      column: position.col - 1,
      yaml: true,
    },
  };
}

/** The offset of the first mapping or list nested MAX_DEPTH + 1 levels deep, if any. */
function deeperThanLimit(events: readonly Event[]): number | undefined {
  let depth = 0;
  for (const event of events) {
    if (event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE) {
      if (++depth > MAX_DEPTH) return event.start;
    } else if (event.type === EVENT_ID.POP) {
      depth--;
    }
  }
  return undefined;
}

function yamlFailure(error: unknown): YamlFailure {
  if (!(error instanceof YAMLException))
    return { reason: error instanceof Error ? error.message : String(error), line: 0, column: 0, yaml: false };
  return { reason: error.reason, line: error.mark?.line ?? 0, column: error.mark?.column ?? 0, yaml: true };
}

/**
 * Parses every document of a manifest file, from its tokens when they were made elsewhere. Pure;
 * never throws for bad input, and every problem message is one line.
 */
export function parseManifestText(
  text: string,
  file: string,
  tokens: Tokens = tokenizeManifestText(text),
): ParseResult {
  const lines = new LineIndex(text);
  if ('failure' in tokens) return refused(text, file, lines, tokens.failure);
  const { events } = tokens;
  const nodeBeyondLimit = text.length * 2 < MAX_NODES ? undefined : findNodeBeyondLimit(events);
  if (nodeBeyondLimit !== undefined) return failed(file, lines.position(nodeBeyondLimit), NODES_MESSAGE);
  let values: unknown[];
  try {
    values =
      constructPlainDocuments(events, text) ??
      constructFromEvents(decodeEvents(events), { source: text, schema: CORE_SCHEMA, maxAliases: MAX_ALIASES });
  } catch (error) {
    return refused(text, file, lines, yamlFailure(error));
  }

  const indentationTab = text.includes('\t') ? findTabStartingPlainScalar(events, text) : undefined;
  if (indentationTab !== undefined) return failed(file, lines.position(indentationTab), TAB_MESSAGE);

  const sourceMaps = buildSourceMaps(events, text, lines);
  const documents: ParsedDocument[] = [];
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    const sourceMap = sourceMaps[index];
    if (value === null || value === undefined || sourceMap === undefined) continue;
    documents.push(new SourceDocument(value, index, sourceMap));
  }
  return { documents, problems: [] };
}

/** A parsed document; its positions are looked up in its source map. */
class SourceDocument implements ParsedDocument {
  readonly start: Position;

  constructor(
    readonly value: unknown,
    readonly index: number,
    readonly sourceMap: SourceMap,
  ) {
    this.start = sourceMap.locate('');
  }

  locate(pointer: string, which?: 'key' | 'value'): Position {
    return this.sourceMap.locate(pointer, which);
  }
}

/** The file refused, with one problem at `position`. */
function failed(file: string, position: Position, message: string): ParseResult {
  return { documents: [], problems: [{ file, line: position.line, col: position.col, message }] };
}

/** The file refused for what js-yaml said of it (`failure`), with the message a user can act on. */
function refused(text: string, file: string, lines: LineIndex, failure: YamlFailure): ParseResult {
  if (!failure.yaml) return failed(file, lines.position(0), `invalid YAML: ${printable(failure.reason)}`);
  const at = { line: failure.line + 1, col: failure.column + 1 };
  const limit = LIMIT_MESSAGES.find(([reason]) => reason.test(failure.reason));
  if (limit !== undefined) return failed(file, at, limit[1]);
  const tab = indentationTabAtFault(text, failure);
  if (tab !== undefined) return failed(file, lines.position(tab), TAB_MESSAGE);
  return failed(file, at, `invalid YAML: ${printable(failure.reason)}`);
}

/**
 * Source range of the scalar at a JSON pointer, for editing it in place (comments and
 * layout kept); undefined when the node is absent, empty, not a scalar, or under an alias.
 */
export function scalarRange(doc: ParsedDocument, pointer: string): ScalarRange | undefined {
  return doc.sourceMap.scalar(pointer);
}

/** Offset of the first node beyond MAX_NODES, if the file has that many. */
function findNodeBeyondLimit(events: PackedEvents): number | undefined {
  const s = events.slots;
  let nodes = 0;
  for (let at = events.start; at < events.end; at += STRIDE) {
    const type = typeAt(s, at);
    if (type === EVENT_ID.DOCUMENT || type === EVENT_ID.POP) continue;
    if (++nodes > MAX_NODES) return nodeOffset(s, at);
  }
  return undefined;
}

/** Roughly where the node event at slot `at` is written (the line is what matters). */
function nodeOffset(s: Int32Array, at: number): number {
  switch (typeAt(s, at)) {
    case EVENT_ID.ALIAS:
      return (s[at + ANCHOR_START] as number) - 1;
    case EVENT_ID.SCALAR: {
      const valueStart = s[at + VALUE_START] as number;
      return valueStart >= 0
        ? valueStart
        : Math.max(s[at + TAG_START] as number, (s[at + ANCHOR_START] as number) - 1, 0);
    }
    case EVENT_ID.MAPPING:
    case EVENT_ID.SEQUENCE:
      return s[at + START] as number;
    default:
      return 0;
  }
}

/**
 * js-yaml reads a tab-indented line as a plain scalar starting with the tab (`\ttag`) instead
 * of failing; a plain scalar never starts with a tab otherwise. Returns the tab's offset.
 */
function findTabStartingPlainScalar(events: PackedEvents, text: string): number | undefined {
  const s = events.slots;
  for (let at = events.start; at < events.end; at += STRIDE) {
    if (typeAt(s, at) !== EVENT_ID.SCALAR || styleAt(s, at) !== SCALAR_STYLE.PLAIN) continue;
    const valueStart = s[at + VALUE_START] as number;
    if (text[valueStart] === '\t') return valueStart;
  }
  return undefined;
}

/** js-yaml's own reason when it meets a tab where indentation goes; its mark is on the tab. */
const TAB_REASON = /^tab characters must not be used in indentation\b/;

/**
 * The offset of the tab that caused a syntax error, if a tab did: where js-yaml says so itself,
 * or a tab in the indentation of the very line it stopped on (not a comment line), when it
 * stopped at the first word after that indentation, the word a tab pushed out of place
 * (`\tkey: v` read as a key at the wrong column, a flow item without its indentation). A tab
 * anywhere else is no cause: not one on another line (a comment's indentation, block-scalar
 * text: both legal), nor one before the word an unrelated error is about further along its line.
 */
function indentationTabAtFault(text: string, failure: YamlFailure): number | undefined {
  const lines = text.split('\n');
  const lineStart = lines.slice(0, failure.line).reduce((sum, l) => sum + l.length + 1, 0);
  const lineText = lines[failure.line] ?? '';
  if (TAB_REASON.test(failure.reason) && lineText[failure.column] === '\t') return lineStart + failure.column;
  const indentation = /^[ \t]*/.exec(lineText)?.[0] ?? '';
  const tabColumn = indentation.indexOf('\t');
  if (tabColumn === -1 || lineText.trim() === '' || lineText.trimStart().startsWith('#')) return undefined;
  // The first word after the indentation, and a ':' right after it (a key js-yaml read at the tab's column).
  const firstWordEnd = indentation.length + (/^\S*/.exec(lineText.slice(indentation.length))?.[0].length ?? 0);
  return failure.column <= firstWordEnd ? lineStart + tabColumn : undefined;
}
