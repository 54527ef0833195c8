/**
 * Reads and analyzes many manifest files at once. A cold read of a large directory is CPU-bound,
 * so it runs as a pipeline: worker threads (one per further core) read the files, a chunk at a
 * time, and tokenize them with js-yaml's parser; each hands back a chunk's texts and its events
 * packed in one transferred buffer (packed-events.ts); this thread builds the documents from the
 * packed events where they lie, validates them and keeps the results. Reading and tokenizing there,
 * and building and validating here, splits the work about evenly between two threads.
 *
 * Split by stage rather than by file, each thread warms up (gets its code optimized) for its own
 * stage, and nothing costly crosses threads: paths go one way, and texts and a transferred buffer
 * of events the other; the analyses stay where they are made. Split by file, every thread ran all of
 * berth's analysis cold and the analyses were structured-cloned back: two threads cost 40% more
 * CPU than one and saved a quarter of the time.
 *
 * Workers exist only for the duration of one such read; small reads (every edit, every resync:
 * the loader re-analyzes changed files only) stay on this thread, as does the work of a worker
 * that fails. The analyses come back in the order of the jobs, equal to analyzing them one by one
 * on this thread.
 */
import { availableParallelism } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import { analyzeFile, analyzeTokenizedFiles, type AnalyzedFile, type AnalyzeJob } from './analyze-file.js';
import type { TokenizedFile } from './tokenize-file.js';
import type { FileRead } from './read-file.js';
import type { EventBuffer } from '../packed-events.js';
import type { LoadOptions } from '../types.js';
import { keepYoungGenerationSmall } from '../../util/young-generation.js';

export type { AnalyzeJob, AnalyzedFile };

/** A chunk of files offered to one worker, to read and tokenize. */
export interface ChunkRequest {
  index: number;
  paths: string[];
}

/**
 * A chunk's buffer of events, given back to the worker that filled it once its chunk is analyzed,
 * for its next chunk: the buffer leaves this thread at once instead of at its next full garbage
 * collection, and the worker makes no new one.
 */
export interface RecycledBuffer {
  recycled: ArrayBuffer;
}

/** What a worker made of a chunk it was offered: what it read of each file, and one TokenizedFile per text read. */
export interface TokenizedChunk {
  index: number;
  reads: FileRead[];
  files: TokenizedFile[];
  events: EventBuffer;
}

/** Below this many files, starting threads costs more than it saves. */
export const PARALLEL_THRESHOLD = 400;
/** Files per chunk. */
export const CHUNK = 100;
/**
 * Files in the first chunks, while the worker and this thread are cold: this thread has files to
 * analyze sooner after the worker starts.
 */
const FIRST_CHUNKS = [25, 50];
const MAX_WORKERS = 7;
/**
 * Chunks a worker holds (offered, not yet delivered), at most: the rest wait here, so that the
 * next chunk goes to whichever worker delivers first, and each file is read by one worker only.
 */
const HELD_PER_WORKER = 4;
/**
 * A worker's young generation. Nearly all a tokenizer allocates (events, until they are packed)
 * dies young, so a small one costs no time and keeps the process's memory down.
 */
const YOUNG_GENERATION_MB = 8;
const READER = new URL('./read-worker.js', import.meta.url);
/** worker_threads loads with the first worker: most reads (every small one) start none. */
const requireBuiltin = createRequire(import.meta.url);

interface Chunk {
  index: number;
  jobs: AnalyzeJob[];
  /** The worker it was offered to, until it delivers or is lost. */
  holder?: Helper;
  analyses?: AnalyzedFile[];
}

interface Helper {
  worker: Worker;
  alive: boolean;
  held: number;
}

/** One worker per further core. */
function defaultWorkers(): number {
  return Math.max(0, Math.min(availableParallelism() - 1, MAX_WORKERS));
}

/**
 * One read's analyses: jobs are added as the loader lists them, then finish() gives every
 * analysis. The workers start when the PARALLEL_THRESHOLD-th job is added, and each chunk is
 * offered as soon as it is full and a worker holds fewer than HELD_PER_WORKER.
 */
export class AnalyzePool {
  private readonly chunks: Chunk[] = [];
  /** Chunks no worker holds and nobody analyzed, in order. */
  private readonly waiting: Chunk[] = [];
  private readonly tokenized: Array<{ chunk: TokenizedChunk; from: Helper }> = [];
  private readonly helpers: Helper[] = [];
  private pending: AnalyzeJob[] = [];
  private added = 0;
  private completed = 0;
  private largeRead = false;
  /** Chunks this thread analyzed from what a worker read and tokenized (for tests and logs). */
  tokenizedByWorkers = 0;

  /** The chunks the files added so far make (for tests and logs). */
  get chunkCount(): number {
    return this.chunks.length + (this.pending.length > 0 ? 1 : 0);
  }
  private wake: (() => void) | undefined;

  /** `workerScript`: what each worker runs (tests give one that fails). */
  constructor(
    private readonly options: LoadOptions,
    private readonly workers = defaultWorkers(),
    private readonly workerScript: URL = READER,
  ) {}

  /** Starts the workers now if `files` (about to be added) are PARALLEL_THRESHOLD or more: they get ready meanwhile. */
  expect(files: number): void {
    if (files >= PARALLEL_THRESHOLD) this.startLargeRead();
  }

  add(job: AnalyzeJob): void {
    this.pending.push(job);
    this.added++;
    if (this.added === PARALLEL_THRESHOLD) this.startLargeRead();
    if (this.pending.length === (FIRST_CHUNKS[this.chunks.length] ?? CHUNK)) this.enqueue();
  }

  /** A large read keeps what it reads: V8's young generation is kept small first (young-generation.ts); then the workers start. */
  private startLargeRead(): void {
    if (this.largeRead) return;
    this.largeRead = true;
    keepYoungGenerationSmall();
    for (let i = 0; i < this.workers; i++) this.startHelper();
    this.offerWaiting();
  }

  /**
   * Analyzes on this thread what the workers read and tokenized, as it comes; reads and analyzes
   * the chunks itself only when no worker is left. Then stops the workers.
   */
  async finish(): Promise<AnalyzedFile[]> {
    this.enqueue();
    while (this.completed < this.chunks.length) {
      const delivered = this.tokenized.shift();
      if (delivered !== undefined) {
        const { chunk: tokenized, from } = delivered;
        const chunk = this.chunks[tokenized.index] as Chunk;
        // A lost worker's chunk may arrive after this thread or another worker has done it.
        if (chunk.analyses === undefined) {
          this.complete(
            chunk,
            analyzeTokenizedFiles(chunk.jobs, tokenized.reads, tokenized.files, tokenized.events, this.options),
          );
          this.tokenizedByWorkers++;
        }
        // Nothing made of the chunk refers to its events any more.
        const { buffer } = tokenized.events.slots;
        if (from.alive) from.worker.postMessage({ recycled: buffer } satisfies RecycledBuffer, [buffer]);
      } else if (!this.helpers.some((helper) => helper.alive) && this.waiting.length > 0) {
        const chunk = this.waiting.shift() as Chunk;
        if (chunk.analyses === undefined)
          this.complete(
            chunk,
            chunk.jobs.map((job) => analyzeFile(job, this.options)),
          );
      } else {
        // The workers hold the rest.
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
      // Lets workers' chunks in, and everything else berth does.
      await yieldToEventLoop();
    }
    // Not awaited: a worker has nothing left to do, and its thread ends a few ms later.
    for (const { worker } of this.helpers) void worker.terminate();
    return this.chunks.flatMap((chunk) => chunk.analyses ?? []);
  }

  private enqueue(): void {
    if (this.pending.length === 0) return;
    const chunk: Chunk = { index: this.chunks.length, jobs: this.pending };
    this.chunks.push(chunk);
    this.waiting.push(chunk);
    this.pending = [];
    this.offerWaiting();
  }

  /** Offers waiting chunks, in order, each to the live worker that holds the fewest, while one holds fewer than HELD_PER_WORKER. */
  private offerWaiting(): void {
    while (this.waiting.length > 0) {
      let helper: Helper | undefined;
      for (const candidate of this.helpers) {
        if (
          candidate.alive &&
          candidate.held < HELD_PER_WORKER &&
          (helper === undefined || candidate.held < helper.held)
        )
          helper = candidate;
      }
      if (helper === undefined) return;
      const chunk = this.waiting.shift() as Chunk;
      if (chunk.analyses !== undefined) continue;
      chunk.holder = helper;
      helper.held++;
      helper.worker.postMessage({
        index: chunk.index,
        paths: chunk.jobs.map((job) => job.realPath),
      } satisfies ChunkRequest);
    }
  }

  private complete(chunk: Chunk, analyses: AnalyzedFile[]): void {
    chunk.analyses = analyses;
    this.completed++;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** A worker that fails or exits early gives the chunks it held back to the queue, for another worker or this thread. */
  private startHelper(): void {
    const { Worker } = requireBuiltin('node:worker_threads') as typeof import('node:worker_threads');
    const worker = new Worker(this.workerScript, { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
    const helper: Helper = { worker, alive: true, held: 0 };
    this.helpers.push(helper);
    worker.on('message', (delivered: TokenizedChunk) => {
      const chunk = this.chunks[delivered.index] as Chunk;
      if (chunk.holder === helper) {
        delete chunk.holder;
        helper.held--;
      }
      this.tokenized.push({ chunk: delivered, from: helper });
      this.offerWaiting();
      this.notify();
    });
    const lost = () => {
      if (!helper.alive) return;
      helper.alive = false;
      helper.held = 0;
      // A delivered chunk has no holder any more: these are the ones it never delivered.
      const held = this.chunks.filter((chunk) => chunk.holder === helper);
      for (const chunk of held) delete chunk.holder;
      this.waiting.unshift(...held);
      this.offerWaiting();
      this.notify();
    };
    worker.on('error', lost);
    worker.on('exit', lost);
  }
}
