import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCacheFile, type CodeCache } from '../../../src/launch/code-cache.js';

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
    writeFileSync(
      bundle,
      `const { basename } = require('node:path');\nmodule.exports = { double: (n) => n * 2, dir: __dirname, base: basename(__filename) };\n`,
    );
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
    assert.deepEqual(readdirSync(join(dir, 'cache')).sort(), [
      'command-demo-0123456789abcdef-v.v8cache',
      'command-other-fedcba9876543210-v.v8cache',
    ]);
  });

  it('runs without a cache where none can be written, and with the cache off', () => {
    writeFileSync(join(dir, 'not-a-dir'), '');
    const unwritable = load({ ...cache, file: join(dir, 'not-a-dir', 'x.v8cache') });
    assert.equal(unwritable.double21, 42);
    assert.equal(unwritable.cacheUse, 'unusable');
    assert.equal(unwritable.writes, 0, 'nothing tried, nothing thrown');
    const off = load(null);
    assert.equal(off.cacheUse, 'off');
    assert.equal(off.writes, 0);
    assert.deepEqual(readdirSync(dir).sort(), ['command-demo.js', 'not-a-dir']);
  });

  it('neither reads nor writes a cache directory another user can write, or one on a path another user can change', () => {
    load();
    const good = readFileSync(cache.file);
    const cacheDir = join(dir, 'cache');
    chmodSync(cacheDir, 0o777);
    const open = load();
    assert.equal(open.cacheUse, 'unusable', 'a good cache in a directory others can write is not used');
    assert.equal(open.double21, 42);
    assert.equal(open.writes, 0);
    assert.deepEqual(readdirSync(cacheDir), ['command-demo-0123456789abcdef-v.v8cache'], 'nothing written into it');
    assert.ok(readFileSync(cache.file).equals(good));
    // A fresh directory under a parent others can write (not sticky): not made, not used.
    const parent = join(dir, 'shared');
    mkdirSync(parent);
    chmodSync(parent, 0o777);
    const below = load({ ...cache, file: join(parent, 'cache', 'command-demo-0123456789abcdef-v.v8cache') });
    assert.equal(below.cacheUse, 'unusable');
    assert.deepEqual(readdirSync(parent), []);
    // A cache file others may write, in a directory of the user's own, is not read (and is replaced).
    chmodSync(cacheDir, 0o700);
    chmodSync(cache.file, 0o666);
    assert.equal(load().cacheUse, 'missing');
    assert.equal(statSync(cache.file).mode & 0o777, 0o600);
  });

  it('neither reads nor writes a cache directory another user owns', function () {
    if (process.getuid?.() !== 0) return this.skip();
    load();
    const cacheDir = join(dir, 'cache');
    rmSync(cache.file);
    chownSync(cacheDir, 65534, 65534);
    const theirs = load();
    assert.equal(theirs.cacheUse, 'unusable');
    assert.equal(theirs.writes, 0);
    assert.deepEqual(readdirSync(cacheDir), [], 'nothing written into it');
  });

  it("never follows a link planted at the cache file's name: not read through, replaced, its target unchanged", () => {
    load();
    // The link leads to a good cache: read through it, it would be used.
    const target = join(dir, 'elsewhere.v8cache');
    renameSync(cache.file, target);
    const before = readFileSync(target);
    symlinkSync(target, cache.file);
    const linked = load();
    assert.equal(linked.cacheUse, 'missing', 'the link was not followed');
    assert.equal(linked.writes, 1);
    assert.ok(readFileSync(target).equals(before), "the link's target is unchanged");
    assert.ok(lstatSync(cache.file).isFile(), "the link was replaced by a file of the cache's own");
    assert.equal(statSync(cache.file).mode & 0o777, 0o600);
    assert.equal(load().cacheUse, 'used');
  });

  it('never follows a link planted at a temporary name, and picks names no one can guess', () => {
    const cacheDir = join(dir, 'cache');
    mkdirSync(cacheDir, { mode: 0o700 });
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious');
    // At the name a write chooses (here told to it): the write fails, the link and its target stay as they were.
    const planted = `${cache.file}.planted.tmp`;
    symlinkSync(victim, planted);
    writeCacheFile(
      cache.file,
      () => Buffer.from('compiled'),
      () => false,
      () => planted,
    );
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
    assert.equal(readlinkSync(planted), victim, 'a link it did not make is not removed either');
    assert.equal(lstatSync(cache.file, { throwIfNoEntry: false }), undefined, 'nothing written');
    // At the name the writes before this one used (`<file>.<pid>.tmp`): no longer the name chosen.
    const predictable = `${cache.file}.${process.pid}.tmp`;
    symlinkSync(victim, predictable);
    writeCacheFile(
      cache.file,
      () => Buffer.from('compiled'),
      () => false,
    );
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
    assert.equal(readFileSync(cache.file, 'utf8'), 'compiled');
    assert.equal(statSync(cache.file).mode & 0o777, 0o600);
    assert.deepEqual(
      readdirSync(cacheDir).sort(),
      [
        'command-demo-0123456789abcdef-v.v8cache',
        `command-demo-0123456789abcdef-v.v8cache.${process.pid}.tmp`,
        'command-demo-0123456789abcdef-v.v8cache.planted.tmp',
      ].sort(),
      'no temporary file of its own left',
    );
  });
});
