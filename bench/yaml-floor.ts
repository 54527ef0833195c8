/**
 * The floor of manifest validation (bench/speed.ts): a bare Node process that reads every file of the
 * directory given as first argument and calls js-yaml's `load` on each, on one thread. Nothing berth
 * does can cost less than this parse.
 *
 * The second argument picks the build of js-yaml: `cjs` (the default) its CommonJS build, as
 * `require` gets it, `esm` its ES module build, as `import` gets it. On Node 20 the ES module build's
 * `load` takes about 2.2 times as long (its parser's state is made by object spread: see
 * scripts/js-yaml-parser-state.mjs), so the CommonJS build is the fastest way to parse the files
 * with js-yaml, and the floor berth is judged against.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [dir, build = 'cjs'] = process.argv.slice(2);
if (!dir || (build !== 'cjs' && build !== 'esm')) throw new Error('usage: yaml-floor DIR [cjs|esm]');
const { load } = (
  build === 'esm' ? await import('js-yaml') : createRequire(import.meta.url)('js-yaml')
) as typeof import('js-yaml');
let documents = 0;
for (const name of readdirSync(dir)) {
  if (load(readFileSync(join(dir, name), 'utf8')) !== undefined) documents++;
}
console.log(`${documents} document(s)`);
