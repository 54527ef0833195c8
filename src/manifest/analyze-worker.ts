/**
 * A worker thread of analyze-pool.ts: analyzes each chunk of manifest texts it is sent and
 * posts the analyses back (plain data, structured-cloned).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { analyzeManifestText } from './analyze.js';
import type { AnalyzeJob, ChunkRequest, ChunkResult } from './analyze-pool.js';
import type { LoadOptions } from './types.js';

const options = (workerData as { options: LoadOptions }).options;
parentPort?.on('message', (chunk: ChunkRequest) => {
  const analyses = chunk.jobs.map((job: AnalyzeJob) => analyzeManifestText(job.text, job.file, options, job.formerApps));
  parentPort?.postMessage({ offset: chunk.offset, analyses } satisfies ChunkResult);
});
