/**
 * A worker thread of pool.ts: it reads each chunk of manifest files it is offered and tokenizes
 * their texts, and posts back what it read and the events packed in a transferred buffer.
 */
import { parentPort } from 'node:worker_threads';
import type { ChunkRequest, RecycledBuffer, TokenizedChunk } from './pool.js';
import { EventWriter } from '../packed-events.js';
import { readManifestFile } from './read-file.js';
import { tokenizeText, type TokenizedFile } from './tokenize-file.js';
import { keepYoungGenerationSmall } from '../../util/young-generation.js';

// A worker's start sets V8's flags again, for the whole process: the main thread's young
// generation is kept small again from here.
keepYoungGenerationSmall();

/** Events a small manifest has, about. */
const EVENTS_PER_FILE = 64;
/** Buffers given back by the thread that analyzed their chunks, to fill again. */
const spare: ArrayBuffer[] = [];

parentPort?.on('message', (message: ChunkRequest | RecycledBuffer) => {
  if ('recycled' in message) {
    spare.push(message.recycled);
    return;
  }
  const writer = new EventWriter(message.paths.length * EVENTS_PER_FILE, spare.pop());
  const reads = message.paths.map((path) => readManifestFile(path));
  const files: TokenizedFile[] = [];
  for (const read of reads) if ('text' in read) files.push(tokenizeText(read.text, writer));
  const events = writer.finish();
  parentPort?.postMessage({ index: message.index, reads, files, events } satisfies TokenizedChunk, [
    events.slots.buffer,
  ]);
});
