/**
 * A stand-in for the tokenizing worker (src/manifest/tokenize-worker.ts) that claims the first
 * chunk it is sent and then fails before delivering it, as a crashing worker would.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ChunkRequest } from '../../src/manifest/analyze-pool.js';

const { claimant } = workerData as { claimant: number };
parentPort?.once('message', (chunk: ChunkRequest) => {
  Atomics.compareExchange(chunk.claim, 0, 0, claimant);
  throw new Error('the tokenizer failed');
});
