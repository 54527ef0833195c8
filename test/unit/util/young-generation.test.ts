import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';

const YOUNG_GENERATION = new URL('../../../src/util/young-generation.js', import.meta.url).href;

/**
 * The size of V8's new space (MiB) in a process that keeps a third of 300,000 small objects it
 * makes, as reading a large manifest directory keeps the apps it reads; `keep`: whether it keeps
 * the young generation small first, `worker`: whether a worker thread starts (and keeps it small
 * too, as the manifest reader does) before the objects are made.
 */
function newSpaceMiB(keep: boolean, worker = false): number {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { Worker } from 'node:worker_threads';
    const { keepYoungGenerationSmall } = await import(${JSON.stringify(YOUNG_GENERATION)});
    if (${keep}) keepYoungGenerationSmall();
    if (${worker}) {
      const source = 'Promise.all([import(' + JSON.stringify(${JSON.stringify(YOUNG_GENERATION)}) + '), import("node:worker_threads")]).then(([m, w]) => { m.keepYoungGenerationSmall(); w.parentPort.postMessage(1); })';
      const thread = new Worker(source, { eval: true });
      await new Promise((resolve) => thread.once('message', resolve));
      await thread.terminate();
    }
    const kept = [];
    for (let i = 0; i < 300000; i++) {
      const made = { index: i, pair: [i, i + 1], name: 'app' + i };
      if (i % 3 === 0) kept.push(made);
    }
    const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    console.log(space.space_size / 1048576);`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

describe('keeping the young generation small', () => {
  it('keeps V8 from growing it while much of what a process makes stays', () => {
    assert.ok(newSpaceMiB(false) >= 8, 'V8 grows it by itself');
    assert.ok(newSpaceMiB(true) <= 2, 'kept at its first size');
  });

  it('still holds after a worker thread has started, as a worker that keeps it small again leaves it', () => {
    assert.ok(newSpaceMiB(true, true) <= 2);
  });
});
