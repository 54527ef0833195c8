/**
 * The first stage of analyzing a manifest file on two threads (analyze-pool.ts): its text
 * tokenized, the events packed for the thread that analyzes it (analyze-file.ts). Imports only
 * what a tokenizing worker needs, so the worker loads no validator.
 */
import type { EventWriter } from './event-codec.js';
import { tokenizeManifestText, type YamlFailure } from '../parse.js';

/**
 * A file's tokens: why it is not YAML, or the end of its events in the chunk's EncodedEvents
 * (they start at the previous file's end).
 */
export type TokenizedFile = { failure: YamlFailure } | { eventsEnd: number };

/** Writes the events of `text` to `events`. */
export function tokenizeText(text: string, events: EventWriter): TokenizedFile {
  const tokens = tokenizeManifestText(text);
  return 'failure' in tokens ? { failure: tokens.failure } : { eventsEnd: events.write(tokens.events) };
}
