/**
 * A worker thread of analyze-pool.ts: reads and analyzes each chunk of manifest files it is sent
 * and posts the analyses back (plain data, structured-cloned).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { analyzeFile } from './analyze-file.js';
import type { ChunkRequest, ChunkResult } from './analyze-pool.js';
import type { LoadOptions } from './types.js';

const options = (workerData as { options: LoadOptions }).options;
parentPort?.on('message', (chunk: ChunkRequest) => {
  const analyses = chunk.jobs.map((job) => analyzeFile(job, options));
  parentPort?.postMessage({ offset: chunk.offset, analyses } satisfies ChunkResult);
});
