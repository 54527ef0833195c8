/**
 * A stand-in for the tokenizing worker (src/manifest/read/tokenize-worker.ts) that fails on the first
 * chunk it is offered, before delivering it, as a crashing worker would.
 */
import { parentPort } from 'node:worker_threads';

parentPort?.once('message', () => {
  throw new Error('the tokenizer failed');
});
