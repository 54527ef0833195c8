/**
 * Child process of the scale benchmark: loads and validates the manifest directory given as
 * argument, cold (a fresh process: module loading and the ajv schema included), and prints one
 * JSON line: { importMs, readMs, apps, problems }.
 */
import { performance } from 'node:perf_hooks';

const dir = process.argv[2];
if (!dir) throw new Error('usage: validate-manifests DIR');
const begin = performance.now();
const { ManifestDirectory } = await import('../src/manifest/load.js');
const imported = performance.now();
const set = await new ManifestDirectory(dir, { namespace: 'bench', allowHostPaths: [] }).read();
const read = performance.now();
console.log(JSON.stringify({ importMs: imported - begin, readMs: read - imported, apps: set.apps.size, problems: set.problems.length }));
