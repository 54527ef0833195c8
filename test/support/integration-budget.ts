/**
 * Runs the integration suite (mocha, parallel, as .mocharc.integration.json says) and then
 * prints each file's wall time beside its budget in test/integration/budgets.json, so the suite's
 * cost stays visible as capabilities add files. A file over its budget, or without one, is
 * reported, not failed: timing is no test of behaviour. Exits with mocha's code.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const BUDGETS = resolve('test/integration/budgets.json');
const BUILT_INTEGRATION = resolve('.build/test/integration');

const dir = mkdtempSync(join(tmpdir(), 'berth-file-times-'));
const timesFile = join(dir, 'times.jsonl');
const started = Date.now();
const mocha = spawn(
  process.execPath,
  [
    resolve('node_modules/mocha/bin/mocha.js'),
    '--config',
    '.mocharc.integration.json',
    '--require',
    resolve('.build/test/support/file-timer.js'),
    ...process.argv.slice(2),
  ],
  {
    stdio: 'inherit',
    // berth's code cache goes to this run's temp dir, not the user's ~/.cache: tests leave no trace.
    env: { ...process.env, BERTH_FILE_TIMES: timesFile, BERTH_COMPILE_CACHE: join(dir, 'code-cache') },
  },
);
const code: number = await new Promise((done) =>
  mocha.on('exit', (exitCode, signal) => done(exitCode ?? (signal ? 1 : 0))),
);
const wallSeconds = (Date.now() - started) / 1000;

const budgets = JSON.parse(readFileSync(BUDGETS, 'utf8')) as Record<string, number>;
let lines: string[] = [];
try {
  lines = readFileSync(timesFile, 'utf8').trim().split('\n').filter(Boolean);
} catch {
  // mocha ran no file
}
rmSync(dir, { recursive: true, force: true });
const times = lines
  .map((line) => JSON.parse(line) as { file: string; ms: number })
  .map(({ file, ms }) => ({ file: relative(BUILT_INTEGRATION, file).replace(/\.js$/, '.ts'), seconds: ms / 1000 }));
times.sort((a, b) => b.seconds - a.seconds);
const width = Math.max(4, ...times.map((t) => t.file.length));
console.log(`\nintegration files: wall time against budget (test/integration/budgets.json)`);
console.log(`  ${'file'.padEnd(width)}  seconds  budget`);
for (const { file, seconds } of times) {
  const budget = budgets[file];
  const note = budget === undefined ? '  no budget: add one' : seconds > budget ? '  OVER BUDGET' : '';
  console.log(
    `  ${file.padEnd(width)}  ${seconds.toFixed(0).padStart(7)}  ${String(budget ?? '-').padStart(6)}${note}`,
  );
}
const summed = times.reduce((sum, t) => sum + t.seconds, 0);
const budgeted = Object.values(budgets).reduce((sum, b) => sum + b, 0);
const { jobs } = JSON.parse(readFileSync('.mocharc.integration.json', 'utf8')) as { jobs?: number };
console.log(
  `  files' time added up ${summed.toFixed(0)} s (budgets add up to ${budgeted} s); suite wall time ${wallSeconds.toFixed(0)} s with ${jobs ?? 1} parallel jobs`,
);
process.exit(code);
