/**
 * A mocha root-hook plugin: with BERTH_FILE_TIMES set, appends one JSON line per test file
 * (`{"file": ..., "ms": ...}`) to that path, from the file's first hook to its last. In parallel
 * mode root hooks run once per file, in the worker that runs it. integration-budget.ts reads it.
 */
import { appendFileSync } from 'node:fs';
import type { Context } from 'mocha';

let startedAt = 0;

export const mochaHooks = {
  beforeAll(): void {
    startedAt = Date.now();
  },
  afterAll(this: Context): void {
    const out = process.env.BERTH_FILE_TIMES;
    if (!out) return;
    const files = new Set(
      (this.test?.parent?.suites ?? []).map((suite) => suite.file).filter((file) => file !== undefined),
    );
    for (const file of files) appendFileSync(out, `${JSON.stringify({ file, ms: Date.now() - startedAt })}\n`);
  },
};
