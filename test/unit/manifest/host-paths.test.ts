import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHostPath } from '../../../src/manifest/host-paths.js';

describe('host paths checked on the host (checkHostPath)', () => {
  let root: string;
  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'berth-host-paths-')));
    await mkdir(join(root, 'allowed', 'app', 'data'), { recursive: true });
    await symlink('/', join(root, 'allowed', 'app', 'root'));
    await symlink(join(root, 'allowed'), join(root, 'linked-prefix'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('admits a real path under a prefix, and mounts the prefix\'s own link resolved', async () => {
    assert.deepEqual(await checkHostPath(join(root, 'allowed', 'app', 'data'), [join(root, 'allowed')]), { path: join(root, 'allowed', 'app', 'data') });
    assert.deepEqual(await checkHostPath(join(root, 'linked-prefix', 'app', 'data'), [join(root, 'linked-prefix')]), { path: join(root, 'allowed', 'app', 'data') });
  });

  it('refuses a link anywhere below the prefix, a path that does not exist, and one under no prefix', async () => {
    assert.deepEqual(await checkHostPath(join(root, 'allowed', 'app', 'root', 'etc'), [join(root, 'allowed')]), { refused: `host path ${join(root, 'allowed', 'app', 'root', 'etc')} leads through a symbolic link at ${join(root, 'allowed', 'app', 'root')}; berth mounts no host path through a link` });
    assert.deepEqual(await checkHostPath(join(root, 'allowed', 'app', 'root'), [join(root, 'allowed')]), { refused: `host path ${join(root, 'allowed', 'app', 'root')} leads through a symbolic link at ${join(root, 'allowed', 'app', 'root')}; berth mounts no host path through a link` });
    assert.deepEqual(await checkHostPath(join(root, 'allowed', 'gone'), [join(root, 'allowed')]), { refused: `host path ${join(root, 'allowed', 'gone')} does not exist` });
    assert.deepEqual(await checkHostPath('/etc', [join(root, 'allowed')]), { refused: 'host path /etc is not under an --allow-host-path prefix' });
  });
});
