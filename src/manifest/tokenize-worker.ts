/**
 * A worker thread of analyze-pool.ts: of each chunk of manifest files it is sent, it claims those
 * no other thread has taken, reads and tokenizes their files, and posts the texts and events back
 * (the events in a transferred buffer).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ChunkRequest, TokenizedChunk } from './analyze-pool.js';
import { EventWriter } from './event-codec.js';
import { tokenizeFile } from './tokenize-file.js';

/** Events a small manifest has, about. */
const EVENTS_PER_FILE = 64;

const { claimant } = workerData as { claimant: number };
parentPort?.on('message', (chunk: ChunkRequest) => {
  if (Atomics.compareExchange(chunk.claim, 0, 0, claimant) !== 0) return;
  const writer = new EventWriter(chunk.jobs.length * EVENTS_PER_FILE);
  const files = chunk.jobs.map((job) => tokenizeFile(job, writer));
  const events = writer.finish();
  parentPort?.postMessage({ index: chunk.index, files, events } satisfies TokenizedChunk, [events.slots.buffer]);
});
