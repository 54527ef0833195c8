/**
 * Reads and analyzes many manifest files at once. A cold read of a large directory is CPU-bound,
 * and js-yaml's tokenizer is most of it, so it runs as a pipeline: this thread reads the files in
 * chunks and offers each chunk's texts to one worker thread (there is one per further core), the
 * one that holds the fewest, which tokenizes them; this thread then constructs and validates each
 * chunk from its tokens. Reading here, and
 * tokenizing only there, splits the work about evenly between two threads; only when no worker
 * is left does this thread take chunks itself.
 *
 * Split by stage rather than by file, each thread warms up (gets its code optimized) for its own
 * stage, and nothing costly crosses threads: texts go one way and a transferred buffer of events
 * the other, and the analyses stay where they are made. Split by file, every thread ran all of
 * berth's analysis cold and the analyses were structured-cloned back: two threads cost 40% more
 * CPU than one and saved a quarter of the time. When workers read the files too, and this thread
 * tokenized the chunks no worker had taken yet, the parser ran (and was optimized) on both
 * threads: about 10% more CPU, for the same wall time.
 *
 * Workers exist only for the duration of one such read; small reads (every edit, every resync:
 * the loader re-analyzes changed files only) stay on this thread. The analyses come back in the
 * order of the jobs, equal to analyzing them one by one on this thread.
 */
import { availableParallelism } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import { analyzeFile, analyzeTokenizedFiles, type AnalyzedFile, type AnalyzeJob } from './analyze-file.js';
import type { TokenizedFile } from './tokenize-file.js';
import { readManifestFile, type FileRead } from './read-file.js';
import type { EncodedEvents } from './event-codec.js';
import type { LoadOptions } from '../types.js';

export type { AnalyzeJob, AnalyzedFile };

/** A chunk of texts offered to one worker: those of its files that could be read, in order. */
export interface ChunkRequest {
  index: number;
  texts: string[];
}

/** What a worker made of a chunk it was offered: one TokenizedFile per text. */
export interface TokenizedChunk {
  index: number;
  files: TokenizedFile[];
  events: EncodedEvents;
}

/** Below this many files, starting threads costs more than it saves. */
export const PARALLEL_THRESHOLD = 400;
/** Files per chunk. */
export const CHUNK = 100;
const MAX_WORKERS = 7;
/**
 * Chunks a worker holds (offered, not yet delivered), at most: the rest wait here, so that the
 * next chunk goes to whichever worker delivers first, and each text is sent to one worker only.
 */
const HELD_PER_WORKER = 4;
/**
 * A worker's young generation. Nearly all a tokenizer allocates (events, until they are packed)
 * dies young, so a small one costs no time and keeps the process's memory down (measured: 8 MB
 * took 20 MB less resident memory than 32 MB for 10,000 files, at the same speed).
 */
const YOUNG_GENERATION_MB = 8;
const TOKENIZER = new URL('./tokenize-worker.js', import.meta.url);
/** worker_threads loads with the first worker: most reads (every small one) start none. */
const requireBuiltin = createRequire(import.meta.url);

interface Chunk {
  index: number;
  jobs: AnalyzeJob[];
  /** Read on this thread before the chunk is offered. */
  reads?: FileRead[];
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
  private readonly tokenized: TokenizedChunk[] = [];
  private readonly helpers: Helper[] = [];
  private pending: AnalyzeJob[] = [];
  private added = 0;
  private completed = 0;
  /** Chunks this thread analyzed from a worker's tokens (for tests and logs). */
  tokenizedByWorkers = 0;
  private wake: (() => void) | undefined;

  /** `workerScript`: what each worker runs (tests give one that fails). */
  constructor(
    private readonly options: LoadOptions,
    private readonly workers = defaultWorkers(),
    private readonly workerScript: URL = TOKENIZER,
  ) {}

  add(job: AnalyzeJob): void {
    this.pending.push(job);
    this.added++;
    if (this.added === PARALLEL_THRESHOLD) {
      for (let i = 0; i < this.workers; i++) this.startHelper();
      this.offerWaiting();
    }
    if (this.pending.length === CHUNK) this.enqueue();
  }

  /**
   * Analyzes on this thread what the workers tokenized, reading the waiting chunks' files while it
   * has nothing else to do; analyzes them in one go only when no worker is left. Then stops the workers.
   */
  async finish(): Promise<AnalyzedFile[]> {
    this.enqueue();
    while (this.completed < this.chunks.length) {
      const tokenized = this.tokenized.shift();
      if (tokenized !== undefined) {
        const chunk = this.chunks[tokenized.index] as Chunk;
        // A lost worker's chunk may arrive after this thread or another worker has done it.
        if (chunk.analyses === undefined) {
          this.complete(
            chunk,
            analyzeTokenizedFiles(chunk.jobs, chunk.reads ?? [], tokenized.files, tokenized.events, this.options),
          );
          this.tokenizedByWorkers++;
        }
      } else if (!this.helpers.some((helper) => helper.alive) && this.waiting.length > 0) {
        const chunk = this.waiting.shift() as Chunk;
        if (chunk.analyses === undefined)
          this.complete(
            chunk,
            chunk.jobs.map((job) => analyzeFile(job, this.options)),
          );
      } else if (!this.readAhead()) {
        // Every waiting chunk is read, and the workers hold the rest.
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
      helper.worker.postMessage(requestOf(chunk));
    }
  }

  /** Reads the files of the first waiting chunk not read yet; false when there is none. */
  private readAhead(): boolean {
    const chunk = this.waiting.find((candidate) => candidate.reads === undefined);
    if (chunk === undefined) return false;
    readChunk(chunk);
    return true;
  }

  private complete(chunk: Chunk, analyses: AnalyzedFile[]): void {
    chunk.analyses = analyses;
    delete chunk.reads;
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
      this.tokenized.push(delivered);
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

function readChunk(chunk: Chunk): FileRead[] {
  return (chunk.reads ??= chunk.jobs.map((job) => readManifestFile(job.realPath)));
}

function requestOf(chunk: Chunk): ChunkRequest {
  return { index: chunk.index, texts: readChunk(chunk).flatMap((read) => ('text' in read ? [read.text] : [])) };
}
