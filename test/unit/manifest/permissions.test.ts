import { strict as assert } from 'node:assert';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { otherWriters, permissionWarning } from '../../../src/manifest/permissions.js';

describe('manifest directory permissions', () => {
  it('names who besides the owner may write', () => {
    assert.equal(otherWriters(0o40755), undefined);
    assert.equal(otherWriters(0o40700), undefined);
    assert.equal(otherWriters(0o40775), 'its group');
    assert.equal(otherWriters(0o40757), 'every user');
    assert.equal(otherWriters(0o41777), 'its group and every user');
  });

  it('warns about a world-writable directory, with its mode and the fix; says nothing for a private one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-perm-'));
    try {
      await chmod(dir, 0o755);
      assert.equal(await permissionWarning(dir), undefined);
      await chmod(dir, 0o777);
      assert.equal(
        await permissionWarning(dir),
        `the manifest directory ${dir} (mode 0777) is writable by its group and every user: anyone who can write a manifest can run containers on this host; chmod go-w it`,
      );
      assert.equal(await permissionWarning(join(dir, 'missing')), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
