/**
 * The first stage of analyzing a manifest file on two threads (pool.ts): its text tokenized, the
 * events packed into the chunk's buffer for the thread that analyzes it (analyze-file.ts). Imports
 * only what a reading worker needs, so the worker loads no validator.
 */
import type { EventWriter } from '../packed-events.js';
import { manifestEvents, type YamlFailure } from '../parse.js';

/**
 * A file's tokens: why it is not YAML, or the end of its events in the chunk's buffer (they start
 * at the previous file's end).
 */
export type TokenizedFile = { failure: YamlFailure } | { eventsEnd: number };

/** Writes the events of `text` to `events`. */
export function tokenizeText(text: string, events: EventWriter): TokenizedFile {
  const tokens = manifestEvents(text);
  return Array.isArray(tokens) ? { eventsEnd: events.write(tokens) } : { failure: tokens.failure };
}
