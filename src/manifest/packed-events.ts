/**
 * js-yaml's parser events packed into a flat Int32Array: the form berth builds documents from
 * (construct-plain.ts) and looks source positions up in (source-map.ts), on whichever thread
 * tokenized the text. A worker that tokenizes a chunk of files hands this thread one transferred
 * buffer (read/pool.ts), which costs nothing to send, where structured-cloning event objects costs
 * about as much as parsing them; and nothing unpacks it into objects again: an event is read where
 * it lies. decodeEvents(packed) deep-equals the events packed (js-yaml's constructor, for the
 * documents the plain construction declines, takes them as objects). Pure.
 */
import {
  EVENT_ID,
  getScalarValue,
  type ChompingMode,
  type CollectionStyle,
  type DocumentDirective,
  type Event,
  type ScalarEvent,
  type ScalarStyle,
} from 'js-yaml';

/** Slots per event. */
export const STRIDE = 8;
/**
 * Slot 0 of an event packs its type (EVENT_ID) in the low three bits, then its style, a scalar's
 * chomping and flags; the others, by event type:
 * - DOCUMENT: DIRECTIVES, the index of its directives in PackedEvents.directives (-1: none);
 * - MAPPING, SEQUENCE: ANCHOR_START to TAG_END (-1: none), START, where it is written;
 * - SCALAR: ANCHOR_START to TAG_END, VALUE_START, VALUE_END (-1: an empty value), INDENT;
 * - ALIAS: ANCHOR_START, ANCHOR_END.
 */
export const DIRECTIVES = 1;
export const ANCHOR_START = 1;
export const ANCHOR_END = 2;
export const TAG_START = 3;
export const TAG_END = 4;
export const START = 5;
export const VALUE_START = 5;
export const VALUE_END = 6;
export const INDENT = 7;
/** An absent range (js-yaml's NO_RANGE). */
export const NONE = -1;

const TYPE_BITS = 0b111;
const STYLE_SHIFT = 3;
const CHOMPING_SHIFT = 6;
/** A scalar whose value is its source text as written (js-yaml's `fast`). */
const FAST = 1 << 8;
const EXPLICIT_START = 1 << 9;
const EXPLICIT_END = 1 << 10;

/** One file's events: the slots from `start` to `end` (exclusive) of a buffer that may hold other files' too. */
export interface PackedEvents {
  readonly slots: Int32Array;
  readonly start: number;
  readonly end: number;
  /** The directives of documents that have some, indexed from their DOCUMENT event. */
  readonly directives: readonly DocumentDirective[][];
}

/** What a writer wrote: the events of its files, each file's between the previous file's end (0 for the first) and its own. */
export interface EventBuffer {
  slots: Int32Array<ArrayBuffer>;
  directives: DocumentDirective[][];
}

/** Packs the events of successive files into one growing buffer. */
export class EventWriter {
  private slots: Int32Array<ArrayBuffer>;
  private length = 0;
  private readonly directives: DocumentDirective[][] = [];

  /** `spare`: a buffer to write into while it is large enough (one a reader got back, to make no new one). */
  constructor(expectedEvents = 4096, spare?: ArrayBuffer) {
    const length = Math.max(expectedEvents, 1) * STRIDE;
    this.slots =
      spare !== undefined && spare.byteLength >= length * Int32Array.BYTES_PER_ELEMENT
        ? new Int32Array(spare)
        : new Int32Array(length);
  }

  /** Appends one file's events; returns their end, for eventsOf. */
  write(events: readonly Event[]): number {
    const needed = this.length + events.length * STRIDE;
    if (needed > this.slots.length) {
      const grown = new Int32Array(Math.max(needed, this.slots.length * 2));
      grown.set(this.slots.subarray(0, this.length));
      this.slots = grown;
    }
    const s = this.slots;
    let at = this.length;
    for (const event of events) {
      switch (event.type) {
        case EVENT_ID.DOCUMENT:
          s[at] = event.type | (event.explicitStart ? EXPLICIT_START : 0) | (event.explicitEnd ? EXPLICIT_END : 0);
          s[at + DIRECTIVES] = event.directives.length === 0 ? NONE : this.directives.push(event.directives) - 1;
          break;
        case EVENT_ID.SEQUENCE:
        case EVENT_ID.MAPPING:
        case EVENT_ID.SCALAR:
          s[at + ANCHOR_START] = event.anchorStart;
          s[at + ANCHOR_END] = event.anchorEnd;
          s[at + TAG_START] = event.tagStart;
          s[at + TAG_END] = event.tagEnd;
          if (event.type === EVENT_ID.SCALAR) {
            s[at] =
              event.type | (event.style << STYLE_SHIFT) | (event.chomping << CHOMPING_SHIFT) | (event.fast ? FAST : 0);
            s[at + VALUE_START] = event.valueStart;
            s[at + VALUE_END] = event.valueEnd;
            s[at + INDENT] = event.indent;
          } else {
            s[at] = event.type | (event.style << STYLE_SHIFT);
            s[at + START] = event.start;
          }
          break;
        case EVENT_ID.ALIAS:
          s[at] = event.type;
          s[at + ANCHOR_START] = event.anchorStart;
          s[at + ANCHOR_END] = event.anchorEnd;
          break;
        default:
          s[at] = event.type;
      }
      at += STRIDE;
    }
    this.length = at;
    return at;
  }

  /** What was written; the writer must not be used afterwards (the buffer may be transferred). */
  finish(): EventBuffer {
    return { slots: this.slots, directives: this.directives };
  }
}

/** The events of one file of `buffer`: from `start` (the previous file's end, 0 for the first) to its `end`. */
export function eventsOf(buffer: EventBuffer, start: number, end: number): PackedEvents {
  return { slots: buffer.slots, start, end, directives: buffer.directives };
}

/** Packs one file's events on their own. */
export function packEvents(events: readonly Event[]): PackedEvents {
  const writer = new EventWriter(events.length);
  const end = writer.write(events);
  return eventsOf(writer.finish(), 0, end);
}

/** The type (an EVENT_ID) of the event at slot `at`. */
export function typeAt(slots: Int32Array, at: number): number {
  return (slots[at] as number) & TYPE_BITS;
}

/** The style (a SCALAR_STYLE or COLLECTION_STYLE) of the node event at slot `at`. */
export function styleAt(slots: Int32Array, at: number): number {
  return ((slots[at] as number) >> STYLE_SHIFT) & TYPE_BITS;
}

/** Whether the scalar at slot `at` reads as its source text, as written (js-yaml's `fast`). */
export function isFastAt(slots: Int32Array, at: number): boolean {
  return ((slots[at] as number) & FAST) !== 0;
}

/** The scalar event at slot `at`, as js-yaml made it. */
export function scalarEventAt(slots: Int32Array, at: number): ScalarEvent {
  const head = slots[at] as number;
  return {
    type: EVENT_ID.SCALAR,
    valueStart: slots[at + VALUE_START] as number,
    valueEnd: slots[at + VALUE_END] as number,
    anchorStart: slots[at + ANCHOR_START] as number,
    anchorEnd: slots[at + ANCHOR_END] as number,
    tagStart: slots[at + TAG_START] as number,
    tagEnd: slots[at + TAG_END] as number,
    style: ((head >> STYLE_SHIFT) & TYPE_BITS) as ScalarStyle,
    chomping: ((head >> CHOMPING_SHIFT) & 0b11) as ChompingMode,
    indent: slots[at + INDENT] as number,
    fast: (head & FAST) !== 0,
  };
}

/** The text of the scalar at slot `at` (quotes and escapes resolved, block scalars folded): js-yaml's getScalarValue. */
export function scalarTextAt(text: string, slots: Int32Array, at: number): string {
  const start = slots[at + VALUE_START] as number;
  if (start === NONE) return '';
  if (((slots[at] as number) & FAST) !== 0) return text.slice(start, slots[at + VALUE_END] as number);
  return getScalarValue(text, scalarEventAt(slots, at));
}

/** The events as js-yaml made them. */
export function decodeEvents(packed: PackedEvents): Event[] {
  const s = packed.slots;
  // Pushed, not preallocated: js-yaml's own event arrays are packed, and constructFromEvents
  // slows down when it also sees holey ones.
  const events: Event[] = [];
  for (let at = packed.start; at < packed.end; at += STRIDE) {
    const head = s[at] as number;
    const type = head & TYPE_BITS;
    switch (type) {
      case EVENT_ID.DOCUMENT: {
        const directives = s[at + DIRECTIVES] as number;
        events.push({
          type: EVENT_ID.DOCUMENT,
          explicitStart: (head & EXPLICIT_START) !== 0,
          explicitEnd: (head & EXPLICIT_END) !== 0,
          directives: directives === NONE ? [] : (packed.directives[directives] ?? []),
        });
        break;
      }
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING:
        events.push({
          type: type as typeof EVENT_ID.SEQUENCE | typeof EVENT_ID.MAPPING,
          start: s[at + START] as number,
          anchorStart: s[at + ANCHOR_START] as number,
          anchorEnd: s[at + ANCHOR_END] as number,
          tagStart: s[at + TAG_START] as number,
          tagEnd: s[at + TAG_END] as number,
          style: ((head >> STYLE_SHIFT) & TYPE_BITS) as CollectionStyle,
        });
        break;
      case EVENT_ID.SCALAR:
        events.push(scalarEventAt(s, at));
        break;
      case EVENT_ID.ALIAS:
        events.push({
          type: EVENT_ID.ALIAS,
          anchorStart: s[at + ANCHOR_START] as number,
          anchorEnd: s[at + ANCHOR_END] as number,
        });
        break;
      default:
        events.push({ type: EVENT_ID.POP });
    }
  }
  return events;
}
