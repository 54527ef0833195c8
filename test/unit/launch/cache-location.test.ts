import { strict as assert } from 'node:assert';
import { codeCacheDir, codeCacheFile, isStaleCacheOf } from '../../../src/launch/cache-location.js';

const home = () => '/home/ada';
const plan = { name: 'command-plan', hash: '0123456789abcdef' };
const node = { version: 'v20.20.2', arch: 'x64', flags: '' };

describe('where the code cache lives', () => {
  it("is the user's own cache directory by default: $XDG_CACHE_HOME, else ~/.cache", () => {
    assert.equal(codeCacheDir({}, home), '/home/ada/.cache/berth/code-cache');
    assert.equal(codeCacheDir({ XDG_CACHE_HOME: '/var/cache/ada' }, home), '/var/cache/ada/berth/code-cache');
    assert.equal(
      codeCacheDir({ XDG_CACHE_HOME: 'relative' }, home),
      '/home/ada/.cache/berth/code-cache',
      'a relative XDG_CACHE_HOME is ignored, as the spec says',
    );
  });

  it('follows BERTH_COMPILE_CACHE: a directory, or off', () => {
    assert.equal(codeCacheDir({ BERTH_COMPILE_CACHE: '/srv/cache', XDG_CACHE_HOME: '/x' }, home), '/srv/cache');
    assert.equal(codeCacheDir({ BERTH_COMPILE_CACHE: 'off' }, home), undefined);
    assert.equal(codeCacheDir({ BERTH_COMPILE_CACHE: '0' }, home), undefined);
  });

  it('is off without a home to put it in', () => {
    assert.equal(
      codeCacheDir({}, () => ''),
      undefined,
    );
    assert.equal(
      codeCacheDir({}, () => {
        throw new Error('no passwd entry');
      }),
      undefined,
    );
  });

  it('keeps one file per build of a bundle, Node version, architecture and set of flags', () => {
    const file = codeCacheFile('/c', plan, node);
    assert.match(file, /^\/c\/command-plan-0123456789abcdef-v20\.20\.2-x64-[0-9a-f]{8}\.v8cache$/);
    const others = [
      codeCacheFile('/c', { ...plan, hash: 'fedcba9876543210' }, node),
      codeCacheFile('/c', { ...plan, name: 'command-status' }, node),
      codeCacheFile('/c', plan, { ...node, version: 'v20.19.0' }),
      codeCacheFile('/c', plan, { ...node, arch: 'arm64' }),
      codeCacheFile('/c', plan, { ...node, flags: '--cpu-prof' }),
    ];
    assert.equal(new Set([file, ...others]).size, 6);
  });

  it('calls a cache of another build of the same bundle stale, and nothing else', () => {
    const name = (path: string) => path.slice('/c/'.length);
    assert.equal(isStaleCacheOf(name(codeCacheFile('/c', { ...plan, hash: 'fedcba9876543210' }, node)), plan), true);
    assert.equal(
      isStaleCacheOf(name(codeCacheFile('/c', plan, { ...node, version: 'v22.0.0' })), plan),
      false,
      'another Node keeps its cache',
    );
    assert.equal(
      isStaleCacheOf(name(codeCacheFile('/c', { name: 'command-plan-extra', hash: 'fedcba9876543210' }, node)), plan),
      false,
      "a bundle whose name begins with this one's",
    );
    assert.equal(
      isStaleCacheOf(name(codeCacheFile('/c', { name: 'command-status', hash: 'fedcba9876543210' }, node)), plan),
      false,
    );
    assert.equal(isStaleCacheOf('notes.txt', plan), false);
  });
});
