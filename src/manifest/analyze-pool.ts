/**
 * Analyzes many manifest texts at once. Parsing and validating is CPU-bound (js-yaml dominates),
 * so a cold read of a large directory shares it between this thread and worker threads, one
 * per further core: chunks are handed out as threads ask for them, so a thread still starting
 * up takes fewer. Workers exist only for the duration of one such read; small reads (every
 * edit, every resync: the loader re-analyzes changed files only) stay on this thread.
 * The analyses come back in the order of the jobs, equal to analyzing them one by one.
 */
import { availableParallelism } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { analyzeManifestText, type FileAnalysis } from './analyze.js';
import type { LoadOptions } from './types.js';

export interface AnalyzeJob {
  text: string;
  file: string;
  /** Apps the file defined at the previous read. */
  formerApps: string[];
}

export interface ChunkRequest {
  offset: number;
  jobs: AnalyzeJob[];
}

export interface ChunkResult {
  offset: number;
  analyses: FileAnalysis[];
}

/** Below this many files, starting threads costs more than it saves. */
export const PARALLEL_THRESHOLD = 400;
const CHUNK = 100;
const MAX_WORKERS = 7;

export async function analyzeTexts(jobs: readonly AnalyzeJob[], options: LoadOptions, workers = Math.min(availableParallelism() - 1, MAX_WORKERS)): Promise<FileAnalysis[]> {
  const analyses: FileAnalysis[] = new Array<FileAnalysis>(jobs.length);
  const chunks: ChunkRequest[] = [];
  for (let offset = 0; offset < jobs.length; offset += CHUNK) chunks.push({ offset, jobs: jobs.slice(offset, offset + CHUNK) });
  const store = ({ offset, analyses: done }: ChunkResult) => done.forEach((analysis, i) => (analyses[offset + i] = analysis));

  const helpers = jobs.length < PARALLEL_THRESHOLD ? [] : Array.from({ length: Math.max(0, workers) }, () => helper(chunks, options, store));
  await analyzeHere(chunks, options, store);
  await Promise.all(helpers);
  // Chunks a failed worker gave back.
  await analyzeHere(chunks, options, store);
  return analyses;
}

async function analyzeHere(chunks: ChunkRequest[], options: LoadOptions, store: (result: ChunkResult) => void): Promise<void> {
  for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) {
    store({ offset: chunk.offset, analyses: chunk.jobs.map((job) => analyzeManifestText(job.text, job.file, options, job.formerApps)) });
    // Lets workers' results in, and everything else berth does.
    await yieldToEventLoop();
  }
}

/**
 * One worker taking chunks off `chunks` until none is left; resolves when it has stopped. A
 * worker that fails puts its chunk back for the others (this thread always finishes the rest).
 */
function helper(chunks: ChunkRequest[], options: LoadOptions, store: (result: ChunkResult) => void): Promise<void> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./analyze-worker.js', import.meta.url), { workerData: { options } });
    let current: ChunkRequest | undefined;
    const next = () => {
      current = chunks.shift();
      if (current) worker.postMessage(current);
      else void worker.terminate().then(() => resolve());
    };
    worker.on('online', next);
    worker.on('message', (result: ChunkResult) => {
      store(result);
      next();
    });
    worker.on('error', () => {
      if (current) chunks.unshift(current);
      current = undefined;
      resolve();
    });
  });
}
