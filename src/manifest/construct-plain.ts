/**
 * Documents built from packed parser events (packed-events.ts) the way js-yaml's
 * constructFromEvents builds them with the core schema, for the YAML manifests are written in:
 * plain mappings with string keys, sequences and scalars, no tags, anchors, aliases or directives.
 * It declines (returns undefined) anything else (a non-string, duplicate, `__proto__` or `<<` key,
 * a tag, an anchor, an alias, an incomplete pair) and js-yaml builds that, with its errors. Where
 * it builds, the result deep-equals js-yaml's, keys in the same order; it skips js-yaml's per-event
 * bookkeeping for the features it declines, which made construction most of the main thread's work
 * (a quarter of the time of a 10,000-file read), and reads each event where it lies in the packed
 * buffer, without making an object of it. Scalars resolve through the core schema's own tags. Pure.
 */
import { CORE_SCHEMA, EVENT_ID, NOT_RESOLVED, SCALAR_STYLE, type ScalarTagDefinition } from 'js-yaml';
import {
  ANCHOR_START,
  DIRECTIVES,
  NONE,
  STRIDE,
  TAG_START,
  scalarTextAt,
  styleAt,
  typeAt,
  type PackedEvents,
} from './packed-events.js';

const STRING_TAG = CORE_SCHEMA.defaultScalarTag;
const IMPLICIT_TAGS = CORE_SCHEMA.tags.filter(
  (tag): tag is ScalarTagDefinition => tag.nodeKind === 'scalar' && tag.implicit,
);
/** The implicit tags to try for a plain scalar, by its first character, in the schema's order (as js-yaml tries them). */
const TAGS_ANY_FIRST_CHAR = IMPLICIT_TAGS.filter((tag) => tag.implicitFirstChars === null);
const TAGS_BY_FIRST_CHAR = new Map(
  IMPLICIT_TAGS.flatMap((tag) => tag.implicitFirstChars ?? []).map((char) => [
    char,
    IMPLICIT_TAGS.filter((tag) => tag.implicitFirstChars === null || tag.implicitFirstChars.includes(char)),
  ]),
);

type Collection = Record<string, unknown> | unknown[];

/** A collection being filled, and (for a mapping) the key waiting for its value. */
interface Level {
  collection: Collection;
  key: string | undefined;
}

/** Every document of the events (undefined for an empty one), or undefined to let js-yaml build them. */
export function constructPlainDocuments(events: PackedEvents, text: string): unknown[] | undefined {
  const { slots: s, end } = events;
  const documents: unknown[] = [];
  const open: Level[] = [];
  let document: unknown;
  for (let at = events.start; at < end; at += STRIDE) {
    let value: unknown;
    switch (typeAt(s, at)) {
      case EVENT_ID.DOCUMENT:
        if (s[at + DIRECTIVES] !== NONE) return undefined;
        document = undefined;
        continue;
      case EVENT_ID.MAPPING:
        if (s[at + TAG_START] !== NONE || s[at + ANCHOR_START] !== NONE) return undefined;
        open.push({ collection: {}, key: undefined });
        continue;
      case EVENT_ID.SEQUENCE:
        if (s[at + TAG_START] !== NONE || s[at + ANCHOR_START] !== NONE) return undefined;
        open.push({ collection: [], key: undefined });
        continue;
      case EVENT_ID.SCALAR:
        if (s[at + TAG_START] !== NONE || s[at + ANCHOR_START] !== NONE) return undefined;
        value = scalarValue(scalarTextAt(text, s, at), styleAt(s, at) === SCALAR_STYLE.PLAIN);
        break;
      case EVENT_ID.POP: {
        const closed = open.pop();
        if (closed === undefined) {
          documents.push(document);
          continue;
        }
        if (closed.key !== undefined) return undefined;
        value = closed.collection;
        break;
      }
      default:
        return undefined;
    }
    const level = open.length === 0 ? undefined : (open[open.length - 1] as Level);
    if (level === undefined) document = value;
    else if (Array.isArray(level.collection)) level.collection.push(value);
    else if (level.key === undefined) {
      if (
        typeof value !== 'string' ||
        value === '__proto__' ||
        value === '<<' ||
        Object.hasOwn(level.collection, value)
      )
        return undefined;
      level.key = value;
    } else {
      level.collection[level.key] = value;
      level.key = undefined;
    }
  }
  return documents;
}

function scalarValue(source: string, plain: boolean): unknown {
  if (plain) {
    for (const tag of TAGS_BY_FIRST_CHAR.get(source.charAt(0)) ?? TAGS_ANY_FIRST_CHAR) {
      const value = tag.resolve(source, false, tag.tagName);
      if (value !== NOT_RESOLVED) return value;
    }
  }
  return STRING_TAG.resolve(source, false, STRING_TAG.tagName);
}
