import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfinementError, confinedFile, secretsOwner } from '../../../src/secrets/confine.js';

describe('files a manifest names stay inside the source (confinedFile)', () => {
  let root: string;
  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'berth-confine-')));
    await mkdir(join(root, 'secrets', 'web'), { recursive: true });
    await mkdir(join(root, 'secrets', 'shared'), { recursive: true });
    await mkdir(join(root, 'secrets', 'db'), { recursive: true });
    for (const file of ['secrets/web/a.age', 'secrets/shared/b.age', 'secrets/c.age', 'secrets/db/d.age', 'e.age'])
      await writeFile(join(root, file), 'x');
    await symlink('/etc/passwd', join(root, 'secrets', 'web', 'out.age'));
    await symlink(join(root, 'secrets', 'db', 'd.age'), join(root, 'secrets', 'web', 'to-db.age'));
    await symlink('a.age', join(root, 'secrets', 'web', 'inside.age'));
    await symlink('/etc/passwd', join(root, 'secrets', 'web', 'exists-outside.age'));
    await symlink('/etc/berth-no-such-file', join(root, 'secrets', 'web', 'missing-outside.age'));
    await symlink('../../../../../../../../..', join(root, 'secrets', 'web', 'up'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const refused = (reason: RegExp) => (error: unknown) =>
    error instanceof ConfinementError && reason.test(error.reason);

  it("admits the app's own files, shared ones, files directly in secrets/ and elsewhere inside, and links that stay inside", async () => {
    for (const file of ['secrets/web/a.age', 'secrets/shared/b.age', 'secrets/c.age', 'e.age'])
      assert.equal(await confinedFile(join(root, file), root, 'web'), join(root, file));
    assert.equal(
      await confinedFile(join(root, 'secrets/web/inside.age'), root, 'web'),
      join(root, 'secrets/web/a.age'),
    );
  });

  it("refuses absolute paths, dots and links leading out, and another app's secrets (even through a link)", async () => {
    await assert.rejects(confinedFile('/etc/passwd', root, 'web'), refused(/^is outside the manifests directory/));
    await assert.rejects(
      confinedFile(join(root, '..', '..', 'etc', 'passwd'), root, 'web'),
      refused(/^is outside the manifests directory/),
    );
    await assert.rejects(
      confinedFile(join(root, 'secrets/web/out.age'), root, 'web'),
      refused(/^leads outside the manifests directory \(through a symbolic link\)/),
    );
    await assert.rejects(
      confinedFile(join(root, 'secrets/db/d.age'), root, 'web'),
      refused(/^is app db's secret \(secrets\/db\/\)/),
    );
    await assert.rejects(
      confinedFile(join(root, 'secrets/web/to-db.age'), root, 'web'),
      refused(/^is app db's secret/),
    );
    await assert.rejects(confinedFile(join(root, 'secrets/web/none.age'), root, 'web'), refused(/^no such file$/));
  });

  it('tells nothing of what lies outside: a link out is refused the same whether its target exists or not', async () => {
    const reasons = await Promise.all(
      ['exists-outside.age', 'missing-outside.age', 'up/etc/passwd'].map((name) =>
        confinedFile(join(root, 'secrets', 'web', name), root, 'web').then(
          () => 'admitted',
          (error: ConfinementError) => error.reason,
        ),
      ),
    );
    assert.deepEqual(
      new Set(reasons),
      new Set([
        'leads outside the manifests directory (through a symbolic link); a manifest names files inside it only',
      ]),
    );
  });

  it('reads the owner of a path under secrets/', () => {
    assert.equal(secretsOwner('secrets/web/a.age'), 'web');
    assert.equal(secretsOwner('secrets/a.age'), undefined);
    assert.equal(secretsOwner('deploy/secrets/db/x/y.age'), 'db');
    assert.equal(secretsOwner('e.age'), undefined);
  });
});
