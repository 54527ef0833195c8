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
import { LineIndex, buildSourceMaps, type Position, type ScalarRange, type SourceMap } from './source-map.js';

export type { Position, ScalarRange } from './source-map.js';

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

export interface ParseResult {
  documents: ParsedDocument[];
  /** At most one: a file that is not valid YAML yields no documents. */
  problems: ManifestProblem[];
}

const MAX_DEPTH = 64;
const MAX_ALIASES = 64;
const TAB_MESSAGE = 'invalid YAML: tab character used for indentation (indent with spaces)';

/** Parses every document of a manifest file. Pure; never throws for bad input. */
export function parseManifestText(text: string, file: string): ParseResult {
  const lines = new LineIndex(text);
  const fail = (offset: number | Position, message: string): ParseResult => {
    const position = typeof offset === 'number' ? lines.position(offset) : offset;
    return { documents: [], problems: [{ file, ...position, message }] };
  };

  let events: Event[];
  let values: unknown[];
  try {
    events = parseEvents(text, { maxDepth: MAX_DEPTH });
    values = constructFromEvents(events, { source: text, schema: CORE_SCHEMA, maxAliases: MAX_ALIASES });
  } catch (error) {
    if (!(error instanceof YAMLException)) {
      return fail(0, `invalid YAML: ${error instanceof Error ? error.message : String(error)}`);
    }
    const errorLine = error.mark?.line ?? 0;
    const tab = findIndentationTabNear(text, errorLine);
    if (tab !== undefined) return fail(tab, TAB_MESSAGE);
    return fail({ line: errorLine + 1, col: (error.mark?.column ?? 0) + 1 }, `invalid YAML: ${error.reason}`);
  }

  const indentationTab = findTabStartingPlainScalar(events, text);
  if (indentationTab !== undefined) return fail(indentationTab, TAB_MESSAGE);

  const sourceMaps = buildSourceMaps(events, text, lines);
  const documents: ParsedDocument[] = [];
  values.forEach((value, index) => {
    const sourceMap = sourceMaps[index];
    if (value === null || value === undefined || sourceMap === undefined) return;
    documents.push({
      value,
      index,
      start: sourceMap.locate(''),
      locate: (pointer, which) => sourceMap.locate(pointer, which),
      sourceMap,
    });
  });
  return { documents, problems: [] };
}

/**
 * Source range of the scalar at a JSON pointer, for editing it in place (comments and
 * layout kept); undefined when the node is absent, empty, not a scalar, or under an alias.
 */
export function scalarRange(doc: ParsedDocument, pointer: string): ScalarRange | undefined {
  return doc.sourceMap.scalar(pointer);
}

/**
 * js-yaml reads a tab-indented line as a plain scalar starting with the tab (`\ttag`) instead
 * of failing; a plain scalar never starts with a tab otherwise. Returns the tab's offset.
 */
function findTabStartingPlainScalar(events: readonly Event[], text: string): number | undefined {
  for (const event of events) {
    if (event.type === EVENT_ID.SCALAR && event.style === SCALAR_STYLE.PLAIN && text[event.valueStart] === '\t') {
      return event.valueStart;
    }
  }
  return undefined;
}

/**
 * The offset of a tab in the indentation of the line a syntax error was reported on, or of
 * the nearest non-blank line before it (js-yaml often reports the line after the culprit).
 */
function findIndentationTabNear(text: string, errorLine: number): number | undefined {
  const lineTexts = text.split('\n');
  const lineStart = (line: number) => lineTexts.slice(0, line).reduce((sum, l) => sum + l.length + 1, 0);
  let previous = errorLine - 1;
  while (previous >= 0 && (lineTexts[previous] ?? '').trim() === '') previous--;
  for (const line of [errorLine, previous]) {
    const lineText = lineTexts[line] ?? '';
    const indentation = /^[ \t]*/.exec(lineText)?.[0] ?? '';
    const tabColumn = indentation.indexOf('\t');
    if (tabColumn !== -1 && lineText.trim() !== '') return lineStart(line) + tabColumn;
  }
  return undefined;
}
