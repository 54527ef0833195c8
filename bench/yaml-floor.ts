/**
 * The floor of manifest validation (bench/speed.ts): a bare Node process that reads every file of
 * the directory given as argument and calls js-yaml's `load` on each, on one thread. Nothing
 * berth does can cost less than this parse.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';

const dir = process.argv[2];
if (!dir) throw new Error('usage: yaml-floor DIR');
let documents = 0;
for (const name of readdirSync(dir)) {
  if (load(readFileSync(join(dir, name), 'utf8')) !== undefined) documents++;
}
console.log(`${documents} document(s)`);
