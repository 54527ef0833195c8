/**
 * Reads and analyzes many manifest files at once. Parsing and validating is CPU-bound (js-yaml
 * dominates), so a cold read of a large directory shares it between this thread and worker
 * threads, one per further core. The workers start as soon as the loader has listed enough
 * files, and each chunk goes to a worker as soon as it is listed; this thread takes what is
 * left once it has listed everything. Each thread reads the files it analyzes. Workers exist only for the duration of
 * one such read; small reads (every edit, every resync: the loader re-analyzes changed files
 * only) stay on this thread. The analyses come back in the order of the jobs, equal to
 * analyzing them one by one.
 */
import { availableParallelism } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { analyzeFile, type AnalyzedFile, type AnalyzeJob } from './analyze-file.js';
import type { LoadOptions } from './types.js';

export type { AnalyzeJob, AnalyzedFile };

export interface ChunkRequest {
  offset: number;
  jobs: AnalyzeJob[];
}

export interface ChunkResult {
  offset: number;
  analyses: AnalyzedFile[];
}

/** Below this many files, starting threads costs more than it saves. */
export const PARALLEL_THRESHOLD = 400;
const CHUNK = 100;
const MAX_WORKERS = 7;
/** Chunks a worker holds at once: it starts the next while this thread has not yet read its last result. */
const IN_FLIGHT = 2;
/**
 * A worker's young generation: parsing allocates many short-lived objects, and a worker's
 * default nursery is smaller than the main thread's, so it would collect (and promote) more often.
 */
const YOUNG_GENERATION_MB = 32;

/** One worker per further core. */
function defaultWorkers(): number {
  return Math.max(0, Math.min(availableParallelism() - 1, MAX_WORKERS));
}

/**
 * One read's analyses: jobs are added as their texts are read, then finish() gives every
 * analysis. The workers start when the PARALLEL_THRESHOLD-th job is added.
 */
export class AnalyzePool {
  private readonly analyses: AnalyzedFile[] = [];
  private readonly queue: ChunkRequest[] = [];
  private readonly helpers: Promise<void>[] = [];
  private readonly wakers = new Set<() => void>();
  private pending: AnalyzeJob[] = [];
  private added = 0;
  /** finish() was called: every job is in. */
  private finished = false;

  constructor(
    private readonly options: LoadOptions,
    private readonly workers = defaultWorkers(),
  ) {}

  add(job: AnalyzeJob): void {
    this.pending.push(job);
    this.added++;
    if (this.added === PARALLEL_THRESHOLD) for (let i = 0; i < this.workers; i++) this.helpers.push(this.helper());
    if (this.pending.length === CHUNK) this.enqueue();
  }

  /** Analyzes what no worker took, on this thread, and waits for the workers. */
  async finish(): Promise<AnalyzedFile[]> {
    this.finished = true;
    this.enqueue();
    await this.analyzeHere();
    for (const wake of this.wakers) wake();
    await Promise.all(this.helpers);
    // Chunks a failed worker gave back.
    await this.analyzeHere();
    this.analyses.length = this.added;
    return this.analyses;
  }

  private enqueue(): void {
    if (this.pending.length === 0) return;
    this.queue.push({ offset: this.added - this.pending.length, jobs: this.pending });
    this.pending = [];
    for (const wake of this.wakers) wake();
  }

  private store({ offset, analyses }: ChunkResult): void {
    analyses.forEach((analysis, i) => (this.analyses[offset + i] = analysis));
  }

  private async analyzeHere(): Promise<void> {
    for (let chunk = this.queue.shift(); chunk !== undefined; chunk = this.queue.shift()) {
      this.store({ offset: chunk.offset, analyses: chunk.jobs.map((job) => analyzeFile(job, this.options)) });
      // Lets workers' results in, and everything else berth does.
      await yieldToEventLoop();
    }
  }

  /**
   * One worker taking chunks off the queue as they come, until finish() finds it empty; resolves
   * when the worker has stopped. A worker that fails puts its chunks back (this thread always
   * finishes the rest).
   */
  private helper(): Promise<void> {
    return new Promise((resolve) => {
      const worker = new Worker(new URL('./analyze-worker.js', import.meta.url), { workerData: { options: this.options }, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
      const held = new Map<number, ChunkRequest>();
      let online = false;
      const stop = (then: Promise<unknown>) => {
        this.wakers.delete(fill);
        void then.then(() => resolve());
      };
      const fill = () => {
        if (!online) return;
        while (held.size < IN_FLIGHT && this.queue.length > 0) {
          const chunk = this.queue.shift()!;
          held.set(chunk.offset, chunk);
          worker.postMessage(chunk);
        }
        if (held.size === 0 && this.finished) stop(worker.terminate());
      };
      this.wakers.add(fill);
      worker.on('online', () => {
        online = true;
        fill();
      });
      worker.on('message', (result: ChunkResult) => {
        held.delete(result.offset);
        this.store(result);
        fill();
      });
      worker.on('error', () => {
        this.queue.unshift(...held.values());
        held.clear();
        stop(Promise.resolve());
      });
    });
  }
}
