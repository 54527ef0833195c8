/**
 * The first stage of analyzing a manifest file on two threads (analyze-pool.ts): read and
 * tokenized, its events packed for the thread that analyzes it (analyze-file.ts). Imports only
 * what a tokenizing worker needs, so the worker loads no validator.
 */
import type { AnalyzeJob } from './analyze-file.js';
import type { EventWriter } from './event-codec.js';
import { tokenizeManifestText, type YamlFailure } from './parse.js';
import { readManifestFile, type FileStamp } from './read-file.js';

/**
 * A file read and tokenized: why it could not be read, or its text with either why it is not
 * YAML or the end of its events in the chunk's EncodedEvents (they start at the previous file's end).
 */
export type TokenizedFile = { problem: string } | { text: string; stamp: FileStamp; failure: YamlFailure } | { text: string; stamp: FileStamp; eventsEnd: number };

/** Reads the file and writes its events to `events`. */
export function tokenizeFile(job: AnalyzeJob, events: EventWriter): TokenizedFile {
  const read = readManifestFile(job.realPath);
  if ('problem' in read) return read;
  const tokens = tokenizeManifestText(read.text);
  if ('failure' in tokens) return { ...read, failure: tokens.failure };
  return { ...read, eventsEnd: events.write(tokens.events) };
}
