/**
 * Reads and analyzes many manifest files at once. A cold read of a large directory is CPU-bound,
 * and js-yaml's tokenizer is most of it, so it runs as a pipeline: this thread reads the files in
 * chunks and offers their texts to worker threads (one per further core), which tokenize them;
 * this thread then constructs and validates each chunk from its tokens. Reading here, and
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
import type { LoadOptions } from './types.js';

export type { AnalyzeJob, AnalyzedFile };

/** A chunk of texts offered to the workers (undefined: unread). `claim` (shared by every thread) is 0 until a thread takes the chunk. */
export interface ChunkRequest {
  index: number;
  texts: (string | undefined)[];
  claim: Int32Array;
}

/** What a worker made of the chunk it claimed: one TokenizedFile per job. */
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
/** How this thread marks a chunk it takes; workers mark theirs with their own number, from 1. */
const THIS_THREAD = -1;
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
  claim: Int32Array;
  /** Read on this thread when the chunk is first offered to a worker. */
  reads?: FileRead[];
  analyses?: AnalyzedFile[];
}

interface Helper {
  worker: Worker;
  claimant: number;
  alive: boolean;
}

/** One worker per further core. */
function defaultWorkers(): number {
  return Math.max(0, Math.min(availableParallelism() - 1, MAX_WORKERS));
}

/**
 * One read's analyses: jobs are added as the loader lists them, then finish() gives every
 * analysis. The workers start when the PARALLEL_THRESHOLD-th job is added, and tokenize each
 * chunk as soon as it is full.
 */
export class AnalyzePool {
  private readonly chunks: Chunk[] = [];
  private readonly tokenized: TokenizedChunk[] = [];
  /** Chunks a lost worker had claimed and not delivered. */
  private readonly orphaned: Chunk[] = [];
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
    if (this.added === PARALLEL_THRESHOLD) for (let i = 1; i <= this.workers; i++) this.startHelper(i);
    if (this.pending.length === CHUNK) this.enqueue();
  }

  /** Analyzes on this thread what the workers tokenized (all of it, unless every worker is lost); then stops the workers. */
  async finish(): Promise<AnalyzedFile[]> {
    this.enqueue();
    while (this.completed < this.chunks.length) {
      const tokenized = this.tokenized.shift();
      const chunk = tokenized === undefined ? (this.orphaned.pop() ?? (this.helpers.some((helper) => helper.alive) ? undefined : this.claimFromBack())) : undefined;
      if (tokenized !== undefined) {
        const { jobs, reads } = this.chunks[tokenized.index] as Chunk;
        if (this.complete(tokenized.index, analyzeTokenizedFiles(jobs, reads ?? [], tokenized.files, tokenized.events, this.options))) this.tokenizedByWorkers++;
      } else if (chunk !== undefined) {
        this.complete(chunk.index, chunk.jobs.map((job) => analyzeFile(job, this.options)));
      } else {
        // Every chunk is claimed, and a worker still holds some.
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
    const chunk: Chunk = { index: this.chunks.length, jobs: this.pending, claim: new Int32Array(new SharedArrayBuffer(4)) };
    this.chunks.push(chunk);
    this.pending = [];
    for (const helper of this.helpers) if (helper.alive) helper.worker.postMessage(requestOf(chunk));
  }

  /** Whether the chunk took these analyses: a lost worker's chunk may arrive after this thread has redone it. */
  private complete(index: number, analyses: AnalyzedFile[]): boolean {
    const chunk = this.chunks[index] as Chunk;
    if (chunk.analyses !== undefined) return false;
    chunk.analyses = analyses;
    delete chunk.reads;
    this.completed++;
    return true;
  }

  /** The last chunk nobody has claimed, now claimed by this thread. */
  private claimFromBack(): Chunk | undefined {
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      const chunk = this.chunks[i] as Chunk;
      if (Atomics.compareExchange(chunk.claim, 0, 0, THIS_THREAD) === 0) return chunk;
    }
    return undefined;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** A worker that fails or exits early leaves the chunks it claimed to this thread. */
  private startHelper(claimant: number): void {
    const { Worker } = requireBuiltin('node:worker_threads') as typeof import('node:worker_threads');
    const worker = new Worker(this.workerScript, {
      workerData: { claimant },
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    const helper: Helper = { worker, claimant, alive: true };
    this.helpers.push(helper);
    worker.on('message', (chunk: TokenizedChunk) => {
      this.tokenized.push(chunk);
      this.notify();
    });
    const lost = () => {
      if (!helper.alive) return;
      helper.alive = false;
      const delivered = new Set(this.tokenized.map((chunk) => chunk.index));
      this.orphaned.push(...this.chunks.filter((chunk) => chunk.analyses === undefined && !delivered.has(chunk.index) && Atomics.load(chunk.claim, 0) === claimant));
      this.notify();
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    for (const chunk of this.chunks) worker.postMessage(requestOf(chunk));
  }
}

function requestOf(chunk: Chunk): ChunkRequest {
  chunk.reads ??= chunk.jobs.map((job) => readManifestFile(job.realPath));
  return { index: chunk.index, texts: chunk.reads.map((read) => ('text' in read ? read.text : undefined)), claim: chunk.claim };
}
