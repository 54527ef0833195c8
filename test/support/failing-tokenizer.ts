/**
 * A stand-in for the reading worker (src/manifest/read/read-worker.ts) that fails on the first
 * chunk it is offered, before delivering it, as a crashing worker would.
 */
import { parentPort } from 'node:worker_threads';

parentPort?.once('message', () => {
  throw new Error('the tokenizer failed');
});
