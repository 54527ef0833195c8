import { EVENT_ID, SCALAR_STYLE, getScalarValue, type Event, type ScalarEvent } from 'js-yaml';

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

/** Converts source offsets to 1-based line/col; a leading byte-order mark takes no column. */
export class LineIndex {
  private readonly lineStarts: number[] = [0];
  private readonly bomLength: number;

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
    this.bomLength = text.startsWith('\uFEFF') ? 1 : 0;
  }

  position(offset: number): Position {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.lineStarts[mid] as number) <= offset) low = mid;
      else high = mid - 1;
    }
    const lineStart = this.lineStarts[low] as number;
    const skipped = low === 0 ? this.bomLength : 0;
    return { line: low + 1, col: Math.max(offset - lineStart - skipped, 0) + 1 };
  }
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

  /** `documentAt`: the index of the document's DOCUMENT event in `events`. */
  constructor(
    private readonly events: readonly Event[],
    private readonly documentAt: number,
    private readonly lines: LineIndex,
    readonly text: string,
  ) {}

  /**
   * Offset of the node's key (`which: 'key'`, for mapping members) or value. A missing key
   * falls back to the value, an empty value to the key, and a missing node to its ancestors.
   */
  offset(pointer: string, which: 'key' | 'value' = 'value'): number {
    const path = this.pathTo(pointer);
    for (let i = path.length - 1; i >= 0; i--) {
      const span = path[i] as SpanNode;
      const preferred = which === 'key' ? (span.key ?? span.value) : (span.value ?? span.key);
      if (preferred !== undefined) return preferred;
    }
    return 0;
  }

  locate(pointer: string, which: 'key' | 'value' = 'value'): Position {
    return this.lines.position(this.offset(pointer, which));
  }

  scalar(pointer: string): ScalarRange | undefined {
    const path = this.pathTo(pointer);
    return path.length === pointerSegments(pointer).length + 1 ? path.at(-1)?.scalar : undefined;
  }

  /** The recorded nodes from the root towards `pointer`, as far as they go. */
  private pathTo(pointer: string): SpanNode[] {
    if (this.tree === null && ++this.lookups > DIRECT_LOOKUPS)
      this.tree = buildTree(this.events, this.documentAt, this.text);
    if (this.tree === null) return walkTo(this.events, this.documentAt, this.text, pointerSegments(pointer));
    if (this.tree === undefined) return [];
    const path = [this.tree];
    for (const segment of pointerSegments(pointer)) {
      const child = path.at(-1)?.children?.get(segment);
      if (child === undefined) break;
      path.push(child);
    }
    return path;
  }
}

export function childPointer(parent: string, segment: string | number): string {
  return `${parent}/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  const segments = pointer.slice(1).split('/');
  return pointer.includes('~') ? segments.map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~')) : segments;
}

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

/** Offset where a scalar is written: its opening quote, or its first non-blank content. */
function scalarValueOffset(event: ScalarEvent, text: string): number | undefined {
  if (event.valueStart < 0) {
    if (event.tagStart >= 0) return event.tagStart;
    return event.anchorStart >= 0 ? event.anchorStart - 1 : undefined;
  }
  if (event.style === SCALAR_STYLE.SINGLE_QUOTED || event.style === SCALAR_STYLE.DOUBLE_QUOTED)
    return event.valueStart - 1;
  if (event.style === SCALAR_STYLE.LITERAL_BLOCK || event.style === SCALAR_STYLE.FOLDED_BLOCK) {
    let offset = event.valueStart;
    while (offset < event.valueEnd && text[offset] === ' ') offset++;
    return offset;
  }
  return event.valueStart;
}

/**
 * One SourceMap per document of a successfully parsed event stream, in document order. Each
 * looks positions up in `events` when asked.
 */
export function buildSourceMaps(events: readonly Event[], text: string, lines: LineIndex): SourceMap[] {
  const maps: SourceMap[] = [];
  events.forEach((event, i) => {
    if (event.type === EVENT_ID.DOCUMENT) maps.push(new SourceMap(events, i, lines, text));
  });
  return maps;
}

/** Where the node of `event` is written; `keyOffset` where its key is, for a mapping member. */
function spanOf(event: Event, keyOffset: number | undefined, text: string): SpanNode {
  const node: SpanNode = {};
  if (keyOffset !== undefined) node.key = keyOffset;
  if (event.type === EVENT_ID.SCALAR) {
    const valueOffset = scalarValueOffset(event, text);
    if (valueOffset !== undefined) node.value = valueOffset;
    if (event.valueStart >= 0)
      node.scalar = { start: event.valueStart, end: event.valueEnd, style: STYLE_NAMES[event.style] ?? 'plain' };
  } else if (event.type === EVENT_ID.ALIAS) {
    node.value = event.anchorStart - 1;
  } else if (event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE) {
    node.value = event.start;
  }
  return node;
}

/**
 * The path towards `segments` found by walking the document's events, without building the
 * tree: the same nodes buildTree's tree holds on that path.
 */
function walkTo(events: readonly Event[], documentAt: number, text: string, segments: readonly string[]): SpanNode[] {
  let at = documentAt + 1;
  const root = events[at];
  if (root === undefined || root.type === EVENT_ID.POP) return [];
  const path = [spanOf(root, undefined, text)];
  for (const segment of segments) {
    const parent = events[at] as Event;
    const child =
      parent.type === EVENT_ID.MAPPING
        ? memberOf(events, at, text, segment)
        : parent.type === EVENT_ID.SEQUENCE
          ? itemOf(events, at, segment)
          : undefined;
    if (child === undefined) break;
    at = child.at;
    path.push(spanOf(events[at] as Event, child.keyOffset, text));
  }
  return path;
}

/** The index just past the node at `at`, its descendants included. */
function skipNode(events: readonly Event[], at: number): number {
  let depth = 0;
  do {
    const type = (events[at] as Event).type;
    if (type === EVENT_ID.MAPPING || type === EVENT_ID.SEQUENCE) depth++;
    else if (type === EVENT_ID.POP) depth--;
    at++;
  } while (depth > 0);
  return at;
}

/** The value of the mapping's member written with a scalar key `name` (the last, as the tree keeps). */
function memberOf(
  events: readonly Event[],
  mappingAt: number,
  text: string,
  name: string,
): { at: number; keyOffset: number } | undefined {
  let found: { at: number; keyOffset: number } | undefined;
  for (let at = mappingAt + 1; (events[at] as Event).type !== EVENT_ID.POP; ) {
    const key = events[at] as Event;
    const valueAt = skipNode(events, at);
    if (key.type === EVENT_ID.SCALAR && key.valueStart >= 0 && scalarIs(key, text, name)) {
      found = { at: valueAt, keyOffset: scalarValueOffset(key, text) ?? key.valueStart };
    }
    at = skipNode(events, valueAt);
  }
  return found;
}

/** The sequence's item at the index `segment` spells (as String(index) does). */
function itemOf(
  events: readonly Event[],
  sequenceAt: number,
  segment: string,
): { at: number; keyOffset: undefined } | undefined {
  if (!/^(?:0|[1-9]\d*)$/.test(segment)) return undefined;
  let remaining = Number(segment);
  for (let at = sequenceAt + 1; (events[at] as Event).type !== EVENT_ID.POP; at = skipNode(events, at)) {
    if (remaining-- === 0) return { at, keyOffset: undefined };
  }
  return undefined;
}

function scalarIs(event: ScalarEvent, text: string, name: string): boolean {
  if (!event.fast) return getScalarValue(text, event) === name;
  return event.valueEnd - event.valueStart === name.length && text.startsWith(name, event.valueStart);
}

/** The tree of every addressable node of the document whose DOCUMENT event is at `documentAt`. */
function buildTree(events: readonly Event[], documentAt: number, text: string): SpanNode | undefined {
  const stack: Frame[] = [];
  let root: SpanNode | undefined;

  for (let i = documentAt; i < events.length; i++) {
    const event = events[i] as Event;
    if (event.type === EVENT_ID.DOCUMENT) {
      stack.push({ kind: 'document' });
      continue;
    }
    if (event.type === EVENT_ID.POP) {
      const closed = stack.pop();
      const parent = stack.at(-1);
      if (closed?.kind === 'document') return root;
      if (closed?.kind === 'key' && parent?.kind === 'mapping') {
        parent.awaitingKey = false;
        parent.key = null;
      }
      continue;
    }

    const isCollection = event.type === EVENT_ID.MAPPING || event.type === EVENT_ID.SEQUENCE;
    const parent = stack.at(-1);
    if (parent?.kind === 'key' || (parent?.kind === 'mapping' && parent.awaitingKey)) {
      if (isCollection) stack.push({ kind: 'key' });
      else if (parent.kind === 'mapping') {
        parent.awaitingKey = false;
        parent.key =
          event.type === EVENT_ID.SCALAR && event.valueStart >= 0
            ? { name: getScalarValue(text, event), offset: scalarValueOffset(event, text) ?? event.valueStart }
            : null;
      }
      continue;
    }

    // The node is recorded in the tree unless it is not addressable.
    let node: SpanNode | null = null;
    if (parent === undefined || parent.kind === 'document') {
      root = node = spanOf(event, undefined, text);
    } else if (parent.kind === 'sequence') {
      if (parent.node !== null)
        childrenOf(parent.node).set(String(parent.nextIndex), (node = spanOf(event, undefined, text)));
      parent.nextIndex++;
    } else {
      const { node: parentNode, key } = parent;
      if (parentNode !== null && key !== null)
        childrenOf(parentNode).set(key.name, (node = spanOf(event, key.offset, text)));
      parent.awaitingKey = true;
    }

    if (event.type === EVENT_ID.MAPPING) stack.push({ kind: 'mapping', node, awaitingKey: true, key: null });
    else if (event.type === EVENT_ID.SEQUENCE) stack.push({ kind: 'sequence', node, nextIndex: 0 });
  }
  return root;
}

function childrenOf(node: SpanNode): Map<string, SpanNode> {
  return (node.children ??= new Map());
}
