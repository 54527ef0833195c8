/**
 * A worker thread of analyze-pool.ts: it tokenizes each chunk of manifest texts it is offered and
 * posts the events back in a transferred buffer.
 */
import { parentPort } from 'node:worker_threads';
import type { ChunkRequest, TokenizedChunk } from './pool.js';
import { EventWriter } from './event-codec.js';
import { tokenizeText } from './tokenize-file.js';

/** Events a small manifest has, about. */
const EVENTS_PER_FILE = 64;

parentPort?.on('message', (chunk: ChunkRequest) => {
  const writer = new EventWriter(chunk.texts.length * EVENTS_PER_FILE);
  const files = chunk.texts.map((text) => tokenizeText(text, writer));
  const events = writer.finish();
  parentPort?.postMessage({ index: chunk.index, files, events } satisfies TokenizedChunk, [events.slots.buffer]);
});
