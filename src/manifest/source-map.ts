import { EVENT_ID, SCALAR_STYLE } from 'js-yaml';
import {
  ANCHOR_START,
  START,
  STRIDE,
  TAG_START,
  VALUE_END,
  VALUE_START,
  isFastAt,
  scalarTextAt,
  styleAt,
  typeAt,
  type PackedEvents,
} from './packed-events.js';

/** A place in a source text; line and col are 1-based, col counts UTF-16 code units. */
export interface Position {
  line: number;
  col: number;
}

type ScalarStyleName = 'plain' | 'single-quoted' | 'double-quoted' | 'literal' | 'folded';

/**
 * Source offsets of a scalar's text, end-exclusive. For quoted styles the range excludes
 * the quotes, so replacing it keeps the quoting; for block styles it spans the content lines.
 */
export interface ScalarRange {
  start: number;
  end: number;
  style: ScalarStyleName;
}

/**
 * Converts source offsets to 1-based line/col; a leading byte-order mark takes no column. The
 * lines are found at the first conversion.
 */
export class LineIndex {
  private lineStarts: number[] | undefined;

  constructor(private readonly text: string) {}

  position(offset: number): Position {
    const lineStarts = (this.lineStarts ??= lineStartsOf(this.text));
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((lineStarts[mid] as number) <= offset) low = mid;
      else high = mid - 1;
    }
    const lineStart = lineStarts[low] as number;
    const skipped = low === 0 && this.text.charCodeAt(0) === BYTE_ORDER_MARK ? 1 : 0;
    return { line: low + 1, col: Math.max(offset - lineStart - skipped, 0) + 1 };
  }
}

const BYTE_ORDER_MARK = 0xfeff;

function lineStartsOf(text: string): number[] {
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  return lineStarts;
}

/**
 * Where one node is written, and its addressable children by key or index. The map is a tree
 * rather than a table keyed by JSON pointer: pointers grow with every level and repeat their
 * ancestors' keys, so a table of them costs memory and hashing time quadratic in a long key.
 */
interface SpanNode {
  /** Offset of the mapping key naming this node, for mapping members. */
  key?: number;
  /** Offset where the node's value is written; absent for an empty value. */
  value?: number;
  scalar?: ScalarRange;
  children?: Map<string, SpanNode>;
}

/**
 * A document's first lookups walk its events directly, which costs less than building the tree
 * when an App needs a handful of positions (its start, its name, a port); past this many, the
 * tree is built once and serves the rest.
 */
const DIRECT_LOOKUPS = 8;

/**
 * Where each node of one YAML document is written, addressed by JSON pointer
 * (`/spec/ports/0/host`). Nodes below an alias, or below a non-scalar key, are not
 * addressable; lookups fall back to the nearest addressable ancestor.
 */
export class SourceMap {
  /** Built at the DIRECT_LOOKUPS+1-th lookup; null before. */
  private tree: SpanNode | undefined | null = null;
  private lookups = 0;

  /** `documentAt`: the slot of the document's DOCUMENT event in `events`. */
  constructor(
    private readonly events: PackedEvents,
    private readonly documentAt: number,
    private readonly lines: LineIndex,
    readonly text: string,
  ) {}

  /**
   * Offset of the node's key (`which: 'key'`, for mapping members) or value. A missing key
   * falls back to the value, an empty value to the key, and a missing node to its ancestors.
   */
  offset(pointer: string, which: 'key' | 'value' = 'value'): number {
    const segments = pointerSegments(pointer);
    const tree = this.treeOnceLookedUpOften();
    if (tree === null) return offsetByWalk(this.events, this.documentAt, this.text, segments, which);
    if (tree === undefined) return 0;
    let node = tree;
    let best = preferredOffset(node, which) ?? 0;
    for (const segment of segments) {
      const child = node.children?.get(segment);
      if (child === undefined) break;
      node = child;
      best = preferredOffset(node, which) ?? best;
    }
    return best;
  }

  locate(pointer: string, which: 'key' | 'value' = 'value'): Position {
    return this.lines.position(this.offset(pointer, which));
  }

  scalar(pointer: string): ScalarRange | undefined {
    const segments = pointerSegments(pointer);
    const tree = this.treeOnceLookedUpOften();
    if (tree === null) return scalarByWalk(this.events, this.documentAt, this.text, segments);
    let node = tree;
    for (const segment of segments) node = node?.children?.get(segment);
    return node?.scalar;
  }

  /** The tree, built at the DIRECT_LOOKUPS+1-th lookup; null before (lookups walk the events). */
  private treeOnceLookedUpOften(): SpanNode | undefined | null {
    if (this.tree === null && ++this.lookups > DIRECT_LOOKUPS)
      this.tree = buildTree(this.events, this.documentAt, this.text);
    return this.tree;
  }
}

function preferredOffset(node: SpanNode, which: 'key' | 'value'): number | undefined {
  return which === 'key' ? (node.key ?? node.value) : (node.value ?? node.key);
}

export function childPointer(parent: string, segment: string | number): string {
  return `${parent}/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

/**
 * The segments of a JSON pointer, unescaped. The same few pointers are looked up in every app
 * (`/metadata/name`, `/spec/ports/0/host`): the first POINTERS_KEPT pointers' segments are kept,
 * and shared, which is why they must not be changed.
 */
export function pointerSegments(pointer: string): readonly string[] {
  const kept = keptSegments.get(pointer);
  if (kept !== undefined) return kept;
  const segments = pointer === '' ? [] : pointer.slice(1).split('/');
  const unescaped = pointer.includes('~')
    ? segments.map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    : segments;
  // Not frozen: V8 iterates a frozen array more slowly.
  if (keptSegments.size < POINTERS_KEPT) keptSegments.set(pointer, unescaped);
  return unescaped;
}

const POINTERS_KEPT = 256;
const keptSegments = new Map<string, readonly string[]>();

/** One entry per open collection (or document) while walking the event stream. */
type Frame =
  | { kind: 'document' }
  /** `node` null: the collection is not addressable (it sits under a non-scalar key). */
  | { kind: 'sequence'; node: SpanNode | null; nextIndex: number }
  | { kind: 'mapping'; node: SpanNode | null; awaitingKey: boolean; key: { name: string; offset: number } | null }
  /** A collection used as a mapping key, or nested inside one. */
  | { kind: 'key' };

const STYLE_NAMES: Record<number, ScalarStyleName> = {
  [SCALAR_STYLE.PLAIN]: 'plain',
  [SCALAR_STYLE.SINGLE_QUOTED]: 'single-quoted',
  [SCALAR_STYLE.DOUBLE_QUOTED]: 'double-quoted',
  [SCALAR_STYLE.LITERAL_BLOCK]: 'literal',
  [SCALAR_STYLE.FOLDED_BLOCK]: 'folded',
};

/** Offset where the scalar at slot `at` is written: its opening quote, or its first non-blank content. */
function scalarValueOffset(s: Int32Array, at: number, text: string): number | undefined {
  const valueStart = s[at + VALUE_START] as number;
  if (valueStart < 0) {
    const tagStart = s[at + TAG_START] as number;
    if (tagStart >= 0) return tagStart;
    const anchorStart = s[at + ANCHOR_START] as number;
    return anchorStart >= 0 ? anchorStart - 1 : undefined;
  }
  const style = styleAt(s, at);
  if (style === SCALAR_STYLE.SINGLE_QUOTED || style === SCALAR_STYLE.DOUBLE_QUOTED) return valueStart - 1;
  if (style === SCALAR_STYLE.LITERAL_BLOCK || style === SCALAR_STYLE.FOLDED_BLOCK) {
    const valueEnd = s[at + VALUE_END] as number;
    let offset = valueStart;
    while (offset < valueEnd && text.charCodeAt(offset) === SPACE) offset++;
    return offset;
  }
  return valueStart;
}

const SPACE = 0x20;

/**
 * One SourceMap per document of a successfully parsed event stream, in document order. Each
 * looks positions up in `events` when asked.
 */
export function buildSourceMaps(events: PackedEvents, text: string, lines: LineIndex): SourceMap[] {
  const maps: SourceMap[] = [];
  const s = events.slots;
  for (let at = events.start; at < events.end; at += STRIDE)
    if (typeAt(s, at) === EVENT_ID.DOCUMENT) maps.push(new SourceMap(events, at, lines, text));
  return maps;
}

/** Where the node whose event is at slot `at` is written; `keyOffset` where its key is, for a mapping member. */
function spanOf(s: Int32Array, at: number, keyOffset: number | undefined, text: string): SpanNode {
  const node: SpanNode = {};
  if (keyOffset !== undefined) node.key = keyOffset;
  const valueOffset = valueOffsetAt(s, at, text);
  if (valueOffset !== undefined) node.value = valueOffset;
  const scalar = scalarRangeAt(s, at);
  if (scalar !== undefined) node.scalar = scalar;
  return node;
}

/** Where the value of the node whose event is at slot `at` is written; undefined for an empty one. */
function valueOffsetAt(s: Int32Array, at: number, text: string): number | undefined {
  switch (typeAt(s, at)) {
    case EVENT_ID.SCALAR:
      return scalarValueOffset(s, at, text);
    case EVENT_ID.ALIAS:
      return (s[at + ANCHOR_START] as number) - 1;
    case EVENT_ID.MAPPING:
    case EVENT_ID.SEQUENCE:
      return s[at + START] as number;
    default:
      return undefined;
  }
}

/** The text range of the scalar whose event is at slot `at`; undefined for another node or an empty value. */
function scalarRangeAt(s: Int32Array, at: number): ScalarRange | undefined {
  const start = s[at + VALUE_START] as number;
  if (typeAt(s, at) !== EVENT_ID.SCALAR || start < 0) return undefined;
  return { start, end: s[at + VALUE_END] as number, style: STYLE_NAMES[styleAt(s, at)] ?? 'plain' };
}

/** Where the mapping key whose (scalar) event is at slot `keyAt` is written. */
function keyOffsetAt(s: Int32Array, keyAt: number, text: string): number {
  return scalarValueOffset(s, keyAt, text) ?? (s[keyAt + VALUE_START] as number);
}

/**
 * The slot of the child `segment` names of the node at slot `at` (a mapping's member, a
 * sequence's item), or -1; with `keyAt`, the slot of the member's key (-1 for an item) is set in it.
 */
function childAt(s: Int32Array, at: number, text: string, segment: string, keyAt: { at: number }): number {
  const type = typeAt(s, at);
  if (type === EVENT_ID.MAPPING) {
    keyAt.at = memberKeyAt(s, at, text, segment);
    // A member's key is one scalar event: its value follows it.
    return keyAt.at === -1 ? -1 : keyAt.at + STRIDE;
  }
  keyAt.at = -1;
  return type === EVENT_ID.SEQUENCE ? itemAt(s, at, segment) : -1;
}

/**
 * The offset offset() gives, found by walking the document's events without building the tree:
 * the same as the tree gives.
 */
function offsetByWalk(
  events: PackedEvents,
  documentAt: number,
  text: string,
  segments: readonly string[],
  which: 'key' | 'value',
): number {
  const s = events.slots;
  let at = documentAt + STRIDE;
  if (at >= events.end || typeAt(s, at) === EVENT_ID.POP) return 0;
  let best = valueOffsetAt(s, at, text) ?? 0;
  const keyAt = { at: -1 };
  for (const segment of segments) {
    at = childAt(s, at, text, segment, keyAt);
    if (at === -1) break;
    const key = keyAt.at === -1 ? undefined : keyOffsetAt(s, keyAt.at, text);
    const value = valueOffsetAt(s, at, text);
    best = (which === 'key' ? (key ?? value) : (value ?? key)) ?? best;
  }
  return best;
}

/** The range scalar() gives, found by walking the document's events without building the tree. */
function scalarByWalk(
  events: PackedEvents,
  documentAt: number,
  text: string,
  segments: readonly string[],
): ScalarRange | undefined {
  const s = events.slots;
  let at = documentAt + STRIDE;
  if (at >= events.end || typeAt(s, at) === EVENT_ID.POP) return undefined;
  const keyAt = { at: -1 };
  for (const segment of segments) {
    at = childAt(s, at, text, segment, keyAt);
    if (at === -1) return undefined;
  }
  return scalarRangeAt(s, at);
}

/** The slot just past the node at slot `at`, its descendants included. */
function skipNode(s: Int32Array, at: number): number {
  let depth = 0;
  do {
    const type = typeAt(s, at);
    if (type === EVENT_ID.MAPPING || type === EVENT_ID.SEQUENCE) depth++;
    else if (type === EVENT_ID.POP) depth--;
    at += STRIDE;
  } while (depth > 0);
  return at;
}

/** The slot of the key of the mapping's member written with a scalar key `name` (the last, as the tree keeps), or -1. */
function memberKeyAt(s: Int32Array, mappingAt: number, text: string, name: string): number {
  let found = -1;
  for (let at = mappingAt + STRIDE; typeAt(s, at) !== EVENT_ID.POP; ) {
    const valueAt = skipNode(s, at);
    if (typeAt(s, at) === EVENT_ID.SCALAR && (s[at + VALUE_START] as number) >= 0 && scalarIs(s, at, text, name))
      found = at;
    at = skipNode(s, valueAt);
  }
  return found;
}

/** The slot of the sequence's item at the index `segment` spells (as String(index) does), or -1. */
function itemAt(s: Int32Array, sequenceAt: number, segment: string): number {
  if (!/^(?:0|[1-9]\d*)$/.test(segment)) return -1;
  let remaining = Number(segment);
  for (let at = sequenceAt + STRIDE; typeAt(s, at) !== EVENT_ID.POP; at = skipNode(s, at)) {
    if (remaining-- === 0) return at;
  }
  return -1;
}

/** Whether the scalar at slot `at` reads `name`. */
function scalarIs(s: Int32Array, at: number, text: string, name: string): boolean {
  if (!isFastAt(s, at)) return scalarTextAt(text, s, at) === name;
  const valueStart = s[at + VALUE_START] as number;
  return (s[at + VALUE_END] as number) - valueStart === name.length && text.startsWith(name, valueStart);
}

/** The tree of every addressable node of the document whose DOCUMENT event is at slot `documentAt`. */
function buildTree(events: PackedEvents, documentAt: number, text: string): SpanNode | undefined {
  const s = events.slots;
  const stack: Frame[] = [];
  let root: SpanNode | undefined;

  for (let at = documentAt; at < events.end; at += STRIDE) {
    const type = typeAt(s, at);
    if (type === EVENT_ID.DOCUMENT) {
      stack.push({ kind: 'document' });
      continue;
    }
    if (type === EVENT_ID.POP) {
      const closed = stack.pop();
      const parent = stack.at(-1);
      if (closed?.kind === 'document') return root;
      if (closed?.kind === 'key' && parent?.kind === 'mapping') {
        parent.awaitingKey = false;
        parent.key = null;
      }
      continue;
    }

    const isCollection = type === EVENT_ID.MAPPING || type === EVENT_ID.SEQUENCE;
    const parent = stack.at(-1);
    if (parent?.kind === 'key' || (parent?.kind === 'mapping' && parent.awaitingKey)) {
      if (isCollection) stack.push({ kind: 'key' });
      else if (parent.kind === 'mapping') {
        parent.awaitingKey = false;
        parent.key =
          type === EVENT_ID.SCALAR && (s[at + VALUE_START] as number) >= 0
            ? {
                name: scalarTextAt(text, s, at),
                offset: scalarValueOffset(s, at, text) ?? (s[at + VALUE_START] as number),
              }
            : null;
      }
      continue;
    }

    // The node is recorded in the tree unless it is not addressable.
    let node: SpanNode | null = null;
    if (parent === undefined || parent.kind === 'document') {
      root = node = spanOf(s, at, undefined, text);
    } else if (parent.kind === 'sequence') {
      if (parent.node !== null)
        childrenOf(parent.node).set(String(parent.nextIndex), (node = spanOf(s, at, undefined, text)));
      parent.nextIndex++;
    } else {
      const { node: parentNode, key } = parent;
      if (parentNode !== null && key !== null)
        childrenOf(parentNode).set(key.name, (node = spanOf(s, at, key.offset, text)));
      parent.awaitingKey = true;
    }

    if (type === EVENT_ID.MAPPING) stack.push({ kind: 'mapping', node, awaitingKey: true, key: null });
    else if (type === EVENT_ID.SEQUENCE) stack.push({ kind: 'sequence', node, nextIndex: 0 });
  }
  return root;
}

function childrenOf(node: SpanNode): Map<string, SpanNode> {
  return (node.children ??= new Map());
}
