/**
 * js-yaml's parser events packed into a flat Int32Array, so that a worker thread can hand the
 * tokenized files of a chunk to the thread that constructs and validates them: a transferred
 * buffer costs nothing to send, where structured-cloning the event objects costs about as much
 * as parsing them. decode(encode(events)) deep-equals events. Pure.
 */
import {
  EVENT_ID,
  type ChompingMode,
  type CollectionStyle,
  type DocumentDirective,
  type Event,
  type ScalarStyle,
} from 'js-yaml';

/**
 * Slots per event. Slot 0 packs the type and the small enums and flags; the rest are offsets:
 * a node's anchor and tag ranges in slots 1-4 (an alias's anchor in 1-2), then its own fields.
 */
const STRIDE = 8;
const STYLE_SHIFT = 3;
const CHOMPING_SHIFT = 6;
const FAST = 1 << 8;
const EXPLICIT_START = 1 << 9;
const EXPLICIT_END = 1 << 10;
const THREE_BITS = 0b111;

/** The events of one or more files; a file's events are the slots between two ends. */
export interface EncodedEvents {
  slots: Int32Array<ArrayBuffer>;
  /** The directives of documents that have some, indexed from their DOCUMENT event. */
  directives: DocumentDirective[][];
}

/** Packs the events of successive files into one growing buffer. */
export class EventWriter {
  private slots: Int32Array<ArrayBuffer>;
  private length = 0;
  private readonly directives: DocumentDirective[][] = [];

  constructor(expectedEvents = 4096) {
    this.slots = new Int32Array(expectedEvents * STRIDE);
  }

  /** Appends one file's events; returns the end to give decodeEvents for them. */
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
          s[at + 1] = event.directives.length === 0 ? -1 : this.directives.push(event.directives) - 1;
          break;
        case EVENT_ID.SEQUENCE:
        case EVENT_ID.MAPPING:
        case EVENT_ID.SCALAR:
          s[at + 1] = event.anchorStart;
          s[at + 2] = event.anchorEnd;
          s[at + 3] = event.tagStart;
          s[at + 4] = event.tagEnd;
          if (event.type === EVENT_ID.SCALAR) {
            s[at] =
              event.type | (event.style << STYLE_SHIFT) | (event.chomping << CHOMPING_SHIFT) | (event.fast ? FAST : 0);
            s[at + 5] = event.valueStart;
            s[at + 6] = event.valueEnd;
            s[at + 7] = event.indent;
          } else {
            s[at] = event.type | (event.style << STYLE_SHIFT);
            s[at + 5] = event.start;
          }
          break;
        case EVENT_ID.ALIAS:
          s[at] = event.type;
          s[at + 1] = event.anchorStart;
          s[at + 2] = event.anchorEnd;
          break;
        default:
          s[at] = event.type;
      }
      at += STRIDE;
    }
    this.length = at;
    return at;
  }

  /** What was written; the writer must not be used afterwards (the buffer is meant to be transferred). */
  finish(): EncodedEvents {
    return { slots: this.slots, directives: this.directives };
  }
}

/** The events of one file: the slots from the previous file's end (0 for the first) to its end. */
export function decodeEvents(encoded: EncodedEvents, from: number, to: number): Event[] {
  const s = encoded.slots;
  // Pushed, not preallocated: js-yaml's own event arrays are packed, and constructFromEvents
  // slows down when it also sees holey ones.
  const events: Event[] = [];
  for (let at = from; at < to; at += STRIDE) {
    const head = s[at] as number;
    const type = head & THREE_BITS;
    switch (type) {
      case EVENT_ID.DOCUMENT: {
        const directives = s[at + 1] as number;
        events.push({
          type: EVENT_ID.DOCUMENT,
          explicitStart: (head & EXPLICIT_START) !== 0,
          explicitEnd: (head & EXPLICIT_END) !== 0,
          directives: directives === -1 ? [] : (encoded.directives[directives] ?? []),
        });
        break;
      }
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING:
        events.push({
          type: type as typeof EVENT_ID.SEQUENCE | typeof EVENT_ID.MAPPING,
          start: s[at + 5] as number,
          anchorStart: s[at + 1] as number,
          anchorEnd: s[at + 2] as number,
          tagStart: s[at + 3] as number,
          tagEnd: s[at + 4] as number,
          style: ((head >> STYLE_SHIFT) & THREE_BITS) as CollectionStyle,
        });
        break;
      case EVENT_ID.SCALAR:
        events.push({
          type: EVENT_ID.SCALAR,
          valueStart: s[at + 5] as number,
          valueEnd: s[at + 6] as number,
          anchorStart: s[at + 1] as number,
          anchorEnd: s[at + 2] as number,
          tagStart: s[at + 3] as number,
          tagEnd: s[at + 4] as number,
          style: ((head >> STYLE_SHIFT) & THREE_BITS) as ScalarStyle,
          chomping: ((head >> CHOMPING_SHIFT) & 0b11) as ChompingMode,
          indent: s[at + 7] as number,
          fast: (head & FAST) !== 0,
        });
        break;
      case EVENT_ID.ALIAS:
        events.push({ type: EVENT_ID.ALIAS, anchorStart: s[at + 1] as number, anchorEnd: s[at + 2] as number });
        break;
      default:
        events.push({ type: EVENT_ID.POP });
    }
  }
  return events;
}
