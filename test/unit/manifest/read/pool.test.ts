import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import {
  AnalyzePool,
  CHUNK,
  PARALLEL_THRESHOLD,
  type AnalyzeJob,
  type AnalyzedFile,
} from '../../../../src/manifest/read/pool.js';
import { ManifestDirectory } from '../../../../src/manifest/read/load.js';

const OPTIONS = { namespace: 'dokku', allowHostPaths: [] };
const FILES = PARALLEL_THRESHOLD + 50;

function manifest(i: number): string {
  if (i === 7) return 'apiVersion: berth/v1\nkind: App\nmetadata:\n  name: app7\nspec:\n  tag: [unclosed\n';
  if (i === 300)
    return dump({
      apiVersion: 'berth/v1',
      kind: 'App',
      metadata: { name: 'app300' },
      spec: { tag: 'v1', replicas: -1 },
    });
  return dump({
    apiVersion: 'berth/v1',
    kind: 'App',
    metadata: { name: `app${i}` },
    spec: { tag: `v${i % 5}`, env: { MODE: 'x' }, ports: [{ container: 8080 }] },
  });
}

/**
 * Reads and analyzes `jobs` through a pool with `workers` worker threads, which get time to
 * tokenize the full chunks before this thread starts on what is left.
 */
async function analyzeTexts(
  jobs: readonly AnalyzeJob[],
  options: typeof OPTIONS,
  workers: number,
  workerScript?: URL,
  { expected, wait = true }: { expected?: number; wait?: boolean } = {},
): Promise<{ analyses: AnalyzedFile[]; tokenizedByWorkers: number; chunks: number }> {
  const pool = new AnalyzePool(options, workers, workerScript);
  if (expected !== undefined) pool.expect(expected);
  for (const job of jobs) pool.add(job);
  if (workers > 0 && wait) await new Promise((resolve) => setTimeout(resolve, 1500));
  const chunks = pool.chunkCount;
  return { analyses: await pool.finish(), tokenizedByWorkers: pool.tokenizedByWorkers, chunks };
}

/** Runs `test` with a directory holding FILES manifests, app0.yaml to app{FILES-1}.yaml (manifest(i)); removes it after. */
async function withManifests(test: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-pool-'));
  try {
    await Promise.all(Array.from({ length: FILES }, (_, i) => writeFile(join(dir, `app${i}.yaml`), manifest(i))));
    await test(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('analyzing many manifests with worker threads reading and tokenizing', () => {
  it('gives exactly what reading and analyzing them one by one on this thread gives, in order', async function () {
    this.timeout(60_000);
    await withManifests(async (dir) => {
      const jobs: AnalyzeJob[] = Array.from({ length: FILES + 1 }, (_, i) => ({
        file: `/m/app${i}.yaml`,
        realPath: join(dir, `app${i}.yaml`),
        formerApps: i === 7 || i === FILES ? [`app${i}`] : [],
      }));
      const { analyses: threaded, tokenizedByWorkers, chunks } = await analyzeTexts(jobs, OPTIONS, 1);
      const { analyses: inline } = await analyzeTexts(jobs, OPTIONS, 0);
      assert.ok(chunks > (jobs.length - 75) / CHUNK, 'chunks of up to CHUNK files, smaller first');
      assert.equal(tokenizedByWorkers, chunks, 'the worker tokenized every chunk, this thread none');
      assert.deepEqual(threaded, inline);
      assert.equal(threaded[300]?.analysis.documents[0]?.result.ok, false);
      assert.deepEqual(threaded[7]?.analysis.unconfirmedApps, ['app7'], 'an unparseable file keeps the app it defined');
      assert.equal(threaded[42]?.stamp?.size, manifest(42).length, 'the stamp of what was read');
      const missing = threaded[FILES]!;
      assert.equal(missing.stamp, undefined);
      assert.match(
        missing.analysis.problems[0]?.message ?? '',
        /^cannot read file \(ENOENT: no such file or directory\)$/,
      );
      assert.deepEqual(
        missing.analysis.unconfirmedApps,
        [`app${FILES}`],
        'a file gone unreadable keeps the app it defined',
      );
    });
  });

  it('spreads the chunks over several workers, each chunk offered to one, with the same results', async function () {
    this.timeout(60_000);
    await withManifests(async (dir) => {
      const jobs: AnalyzeJob[] = Array.from({ length: FILES }, (_, i) => ({
        file: `/m/app${i}.yaml`,
        realPath: join(dir, `app${i}.yaml`),
        formerApps: [],
      }));
      const { analyses, tokenizedByWorkers, chunks } = await analyzeTexts(jobs, OPTIONS, 3);
      assert.equal(tokenizedByWorkers, chunks);
      assert.deepEqual(analyses, (await analyzeTexts(jobs, OPTIONS, 0)).analyses);
    });
  });

  it('gives the same analyses when the workers start before the files are added, and fill again the buffers of chunks analyzed', async function () {
    this.timeout(60_000);
    await withManifests(async (dir) => {
      // Each file several times: enough chunks for buffers to come back while the worker still reads.
      const jobs: AnalyzeJob[] = Array.from({ length: FILES * 4 }, (_, i) => ({
        file: `/m/${i}/app${i % FILES}.yaml`,
        realPath: join(dir, `app${i % FILES}.yaml`),
        formerApps: [],
      }));
      const inline = (await analyzeTexts(jobs, OPTIONS, 0)).analyses;
      // Analyzed as they come: each chunk's buffer goes back to the worker before it has read the last chunks.
      const started = await analyzeTexts(jobs, OPTIONS, 1, undefined, { expected: jobs.length, wait: false });
      assert.equal(started.tokenizedByWorkers, started.chunks, 'the worker tokenized every chunk');
      assert.deepEqual(started.analyses, inline);
    });
  });

  it('redoes on this thread a chunk that a failing worker was offered and never delivered', async function () {
    this.timeout(60_000);
    await withManifests(async (dir) => {
      const jobs: AnalyzeJob[] = Array.from({ length: FILES }, (_, i) => ({
        file: `/m/app${i}.yaml`,
        realPath: join(dir, `app${i}.yaml`),
        formerApps: [],
      }));
      const failing = new URL('../../../support/failing-tokenizer.js', import.meta.url);
      const { analyses, tokenizedByWorkers } = await analyzeTexts(jobs, OPTIONS, 1, failing);
      assert.equal(tokenizedByWorkers, 0);
      assert.deepEqual(analyses, (await analyzeTexts(jobs, OPTIONS, 0)).analyses);
    });
  });

  it('a cold read of a large directory reports every app and every problem with file:line:col', async function () {
    this.timeout(60_000);
    await withManifests(async (dir) => {
      const set = await new ManifestDirectory(dir, OPTIONS).read();
      assert.equal(set.apps.size, FILES - 2);
      assert.equal(set.apps.get('app42')?.spec.tag, 'v2');
      assert.deepEqual(set.problems.map((p) => `${p.file.slice(dir.length + 1)}:${p.line}`).sort(), [
        'app300.yaml:7',
        'app7.yaml:7',
      ]);
    });
  });
});
