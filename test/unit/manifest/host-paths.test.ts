import { strict as assert } from 'node:assert';
import { chmod, mkdir, mkdtemp, realpath, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHostPath, confineHostPaths, resolvePrefixes } from '../../../src/manifest/host-paths.js';
import type { App, ManifestSet } from '../../../src/manifest/types.js';
import { UnsafeDirectoryError } from '../../../src/util/private-dir.js';

describe('host paths checked on the host (checkHostPath, confineHostPaths)', () => {
  let root: string;
  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'berth-host-paths-')));
    await mkdir(join(root, 'allowed', 'app', 'data'), { recursive: true });
    await mkdir(join(root, 'allowed', 'inner', 'etc'), { recursive: true });
    await symlink('/', join(root, 'allowed', 'app', 'root'));
    await symlink(join(root, 'allowed'), join(root, 'linked-prefix'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("admits a real path under a prefix, and mounts the prefix's own link resolved", async () => {
    assert.deepEqual(
      await checkHostPath(join(root, 'allowed', 'app', 'data'), await resolvePrefixes([join(root, 'allowed')])),
      { path: join(root, 'allowed', 'app', 'data') },
    );
    assert.deepEqual(
      await checkHostPath(
        join(root, 'linked-prefix', 'app', 'data'),
        await resolvePrefixes([`${join(root, 'linked-prefix')}/`]),
      ),
      { path: join(root, 'allowed', 'app', 'data') },
    );
  });

  it('refuses a link anywhere below the prefix, a path that does not exist, and one under no prefix', async () => {
    const prefixes = await resolvePrefixes([join(root, 'allowed')]);
    const through = join(root, 'allowed', 'app', 'root');
    assert.deepEqual(await checkHostPath(join(through, 'etc'), prefixes), {
      refused: `host path ${join(through, 'etc')} leads through a symbolic link at ${through}; berth mounts no host path through a link`,
    });
    assert.deepEqual(await checkHostPath(through, prefixes), {
      refused: `host path ${through} leads through a symbolic link at ${through}; berth mounts no host path through a link`,
    });
    assert.deepEqual(await checkHostPath(join(root, 'allowed', 'gone'), prefixes), {
      refused: `host path ${join(root, 'allowed', 'gone')} does not exist`,
    });
    assert.deepEqual(await checkHostPath('/etc', prefixes), {
      refused: 'host path /etc is not under an --allow-host-path prefix',
    });
  });

  it('catches a nested prefix turned into a link after start (by a container that mounts the outer one)', async () => {
    const prefixes = await resolvePrefixes([join(root, 'allowed'), join(root, 'allowed', 'inner')]);
    await rename(join(root, 'allowed', 'inner'), join(root, 'allowed', 'inner.old'));
    await symlink('/', join(root, 'allowed', 'inner'));
    try {
      const checked = await checkHostPath(join(root, 'allowed', 'inner', 'etc'), prefixes);
      assert.deepEqual(checked, {
        refused: `host path ${join(root, 'allowed', 'inner', 'etc')} leads through a symbolic link at ${join(root, 'allowed', 'inner')}; berth mounts no host path through a link`,
      });
    } finally {
      await rm(join(root, 'allowed', 'inner'));
      await rename(join(root, 'allowed', 'inner.old'), join(root, 'allowed', 'inner'));
    }
  });

  it('refuses at start a prefix reached through a directory other users may write', async () => {
    const open = join(root, 'open');
    await mkdir(join(open, 'data'), { recursive: true });
    await chmod(open, 0o777);
    await assert.rejects(
      resolvePrefixes([join(open, 'data')]),
      (error: unknown) => error instanceof UnsafeDirectoryError && error.path === open,
    );
  });

  it('refuses a host path inside one that some app mounts writable, and says which; read-only outer ones are fine', async () => {
    const app = (name: string, volumes: { source: string; readOnly: boolean }[]): App => ({
      name,
      source: { file: `${name}.yaml`, line: 1, col: 1 },
      spec: { volumes: volumes.map((v) => ({ ...v, target: '/mnt' })) } as unknown as App['spec'],
    });
    const set = (apps: App[]): ManifestSet => ({
      apps: new Map(apps.map((a) => [a.name, a])),
      problems: [],
      warnings: [],
      collisions: [],
      conflicts: new Map(),
      invalid: new Set(),
      fileCount: apps.length,
      directory: 'ok',
    });
    const prefixes = await resolvePrefixes([join(root, 'allowed')]);
    const outer = join(root, 'allowed', 'app');
    const inner = join(root, 'allowed', 'app', 'data');
    const refused = await confineHostPaths(
      set([app('writer', [{ source: outer, readOnly: false }]), app('reader', [{ source: inner, readOnly: true }])]),
      prefixes,
    );
    assert.deepEqual([...refused.apps.keys()], ['writer']);
    assert.equal(
      refused.problems[0]?.message,
      `host path ${inner} lies inside ${outer}, which app writer mounts writable: its container could put a link on the way`,
    );
    const fine = await confineHostPaths(
      set([app('writer', [{ source: outer, readOnly: true }]), app('reader', [{ source: inner, readOnly: true }])]),
      prefixes,
    );
    assert.deepEqual([...fine.apps.keys()].sort(), ['reader', 'writer']);
    assert.equal(fine.apps.get('reader')?.spec.volumes[0]?.hostSource, inner);
  });
});
