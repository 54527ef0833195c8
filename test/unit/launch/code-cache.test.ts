import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodeCache } from '../../../src/launch/code-cache.js';

const CODE_CACHE = new URL('../../../src/launch/code-cache.js', import.meta.url).href;

describe('loading a bundle through the code cache', () => {
  let dir: string;
  let bundle: string;
  let cache: CodeCache;
  /**
   * Loads the bundle in a process of its own (V8 keeps what a process compiled: a second load in
   * this one would never read the cache); the cache write it asks for at exit, if any, runs then.
   */
  const load = (withCache: CodeCache | null = cache) => {
    const script = `
      const { loadBundle } = await import(${JSON.stringify(CODE_CACHE)});
      let writes = 0;
      const cache = ${JSON.stringify(withCache ?? null)};
      const { exports, cacheUse } = loadBundle(${JSON.stringify(bundle)}, cache === null ? undefined : { ...cache, isStale: (name) => name.startsWith('command-demo-fedcba9876543210') }, (write) => { writes++; write(); });
      console.log(JSON.stringify({ cacheUse, writes, double21: exports.double(21), dir: exports.dir, base: exports.base }));`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    return JSON.parse(output) as { cacheUse: string; writes: number; double21: number; dir: string; base: string };
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-code-cache-'));
    bundle = join(dir, 'command-demo.js');
    writeFileSync(bundle, `const { basename } = require('node:path');\nmodule.exports = { double: (n) => n * 2, dir: __dirname, base: basename(__filename) };\n`);
    cache = { file: join(dir, 'cache', 'command-demo-0123456789abcdef-v.v8cache'), isStale: () => false };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the bundle as Node would (require, __dirname, __filename, module.exports), and writes the cache its first time, private to the user', () => {
    const first = load();
    assert.equal(first.cacheUse, 'missing');
    assert.equal(first.double21, 42);
    assert.equal(first.dir, dir);
    assert.equal(first.base, 'command-demo.js');
    assert.equal(first.writes, 1);
    assert.equal(statSync(cache.file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'cache')).mode & 0o777, 0o700);
  });

  it('starts from the cache afterwards and writes nothing more', () => {
    load();
    const again = load();
    assert.equal(again.cacheUse, 'used');
    assert.equal(again.double21, 42);
    assert.equal(again.writes, 0);
  });

  it('ignores a corrupt cache, runs as without one, and writes a good one over it', () => {
    load();
    writeFileSync(cache.file, Buffer.alloc(4096, 7));
    const corrupt = load();
    assert.equal(corrupt.cacheUse, 'refused');
    assert.equal(corrupt.double21, 42);
    assert.equal(corrupt.writes, 1);
    assert.equal(load().cacheUse, 'used');
  });

  it('never loads a cache file another user owns', function () {
    if (process.getuid?.() !== 0) return this.skip();
    load();
    chownSync(cache.file, 65534, 65534);
    assert.equal(load().cacheUse, 'missing');
  });

  it('removes the caches of older builds of the bundle when it writes, and nothing else', () => {
    load();
    const stale = join(dir, 'cache', 'command-demo-fedcba9876543210-v.v8cache');
    const other = join(dir, 'cache', 'command-other-fedcba9876543210-v.v8cache');
    writeFileSync(stale, 'old');
    writeFileSync(other, 'other');
    rmSync(cache.file);
    load();
    assert.deepEqual(readdirSync(join(dir, 'cache')).sort(), ['command-demo-0123456789abcdef-v.v8cache', 'command-other-fedcba9876543210-v.v8cache']);
  });

  it('runs without a cache where none can be written, and with the cache off', () => {
    writeFileSync(join(dir, 'not-a-dir'), '');
    const unwritable = load({ ...cache, file: join(dir, 'not-a-dir', 'x.v8cache') });
    assert.equal(unwritable.double21, 42);
    assert.equal(unwritable.writes, 1, 'it tried, and did not throw');
    const off = load(null);
    assert.equal(off.cacheUse, 'off');
    assert.equal(off.writes, 0);
    assert.deepEqual(readdirSync(dir).sort(), ['command-demo.js', 'not-a-dir']);
  });
});
