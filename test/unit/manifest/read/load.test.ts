import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ManifestDirectory, loadPaths } from '../../../../src/manifest/read/load.js';
import { formatProblem, type LoadOptions, type ManifestSet } from '../../../../src/manifest/types.js';

const OPTIONS: LoadOptions = { namespace: 'dokku', allowHostPaths: [] };
const MIB = 1024 * 1024;

function manifest(name: string, tag = 'v1'): string {
  return `apiVersion: berth/v1\nkind: App\nmetadata:\n  name: ${name}\nspec:\n  tag: ${tag}\n`;
}

function write(file: string, content: string | Buffer): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

function summary(set: ManifestSet) {
  return {
    directory: set.directory,
    fileCount: set.fileCount,
    apps: [...set.apps.keys()].sort(),
    problems: set.problems.map(formatProblem),
  };
}

describe('ManifestDirectory', () => {
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'berth-manifest-'));
    dir = path.join(root, 'manifests');
    mkdirSync(dir);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const read = (target = dir) => new ManifestDirectory(target, OPTIONS).read();

  describe('directory state', () => {
    it('is missing when the directory does not exist', async () => {
      const missing = path.join(root, 'nope');
      assert.deepEqual(summary(await read(missing)), {
        directory: 'missing',
        fileCount: 0,
        apps: [],
        problems: [`${missing}:1:1: does not exist`],
      });
    });

    it('is unreadable when the path is not a directory', async () => {
      const file = write(path.join(root, 'file'), 'x');
      assert.deepEqual(summary(await read(file)), {
        directory: 'unreadable',
        fileCount: 0,
        apps: [],
        problems: [`${file}:1:1: cannot be read (ENOTDIR: not a directory)`],
      });
    });

    it('is empty when no manifest file is left after the ignore rules', async () => {
      write(path.join(dir, 'README.md'), '# manifests');
      write(path.join(dir, '.web.yaml.swp'), 'x');
      write(path.join(dir, '.git', 'web.yaml'), manifest('web'));
      assert.deepEqual(summary(await read()), { directory: 'empty', fileCount: 0, apps: [], problems: [] });
    });

    it('is ok with manifests in nested directories', async () => {
      write(path.join(dir, 'web.yaml'), manifest('web'));
      write(path.join(dir, 'team', 'api.yml'), manifest('api'));
      assert.deepEqual(summary(await read()), { directory: 'ok', fileCount: 2, apps: ['api', 'web'], problems: [] });
    });
  });

  describe('walking', () => {
    it('reads 8 levels of subdirectories and reports deeper ones', async () => {
      const eight = path.join(dir, 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7', 'd8');
      write(path.join(eight, 'deep.yaml'), manifest('deep'));
      write(path.join(eight, 'd9', 'deeper.yaml'), manifest('deeper'));
      assert.deepEqual(summary(await read()), {
        directory: 'ok',
        fileCount: 1,
        apps: ['deep'],
        problems: [
          `${path.join(eight, 'd9')}:1:1: directory is nested more than 8 levels deep; its manifests are not read`,
        ],
      });
    });

    it('follows symlinks that stay inside the directory and refuses those that leave it', async () => {
      write(path.join(dir, 'real', 'web.yaml'), manifest('web'));
      write(path.join(root, 'outside', 'evil.yaml'), manifest('evil'));
      symlinkSync(path.join(dir, 'real', 'web.yaml'), path.join(dir, 'alias.yaml'));
      symlinkSync(path.join(root, 'outside', 'evil.yaml'), path.join(dir, 'evil.yaml'));
      symlinkSync(path.join(root, 'outside'), path.join(dir, 'outside-dir'));
      symlinkSync(path.join(dir, 'missing.yaml'), path.join(dir, 'broken.yaml'));
      symlinkSync(dir, path.join(dir, 'real', 'loop'));
      assert.deepEqual(summary(await read()), {
        directory: 'ok',
        fileCount: 3,
        apps: ['web'],
        problems: [
          `${path.join(dir, 'outside-dir')}:1:1: symlink points outside the manifest directory`,
          `${path.join(dir, 'broken.yaml')}:1:1: broken symlink (ENOENT: no such file or directory)`,
          `${path.join(dir, 'evil.yaml')}:1:1: symlink points outside the manifest directory`,
        ],
      });
    });

    it('follows the directory path afresh on every read, as when git-sync swaps a symlink', async () => {
      write(path.join(root, 'rev-1', 'web.yaml'), manifest('web', 'v1'));
      write(path.join(root, 'rev-2', 'web.yaml'), manifest('web', 'v2'));
      const current = path.join(root, 'current');
      symlinkSync(path.join(root, 'rev-1'), current);
      const manifests = new ManifestDirectory(current, OPTIONS);
      assert.equal((await manifests.read()).apps.get('web')?.spec.tag, 'v1');

      symlinkSync(path.join(root, 'rev-2'), path.join(root, 'current.tmp'));
      renameSync(path.join(root, 'current.tmp'), current);
      const set = await manifests.read();
      assert.equal(set.apps.get('web')?.spec.tag, 'v2');
      assert.equal(set.apps.get('web')?.source.file, path.join(current, 'web.yaml'));
    });
  });

  describe('file checks', () => {
    it('refuses a file larger than 1 MiB and accepts one of exactly 1 MiB', async () => {
      const limit = manifest('limit');
      write(path.join(dir, 'limit.yaml'), `${limit + '#'.repeat(MIB - limit.length - 1)}\n`);
      write(path.join(dir, 'large.yaml'), manifest('large') + '#'.repeat(MIB));
      assert.deepEqual(summary(await read()), {
        directory: 'ok',
        fileCount: 2,
        apps: ['limit'],
        problems: [`${path.join(dir, 'large.yaml')}:1:1: file is larger than 1 MiB`],
      });
    });

    it('refuses files that are not text', async () => {
      write(path.join(dir, 'nul.yaml'), `${manifest('nul')}\u0000`);
      write(
        path.join(dir, 'latin1.yaml'),
        Buffer.concat([Buffer.from(manifest('latin')), Buffer.from([0x23, 0xe9, 0x0a])]),
      );
      assert.deepEqual(summary(await read()).problems, [
        `${path.join(dir, 'latin1.yaml')}:1:1: not a text file (not valid UTF-8)`,
        `${path.join(dir, 'nul.yaml')}:1:1: not a text file (contains NUL bytes)`,
      ]);
    });

    it('refuses a manifest name that is not a regular file, without blocking on it', async () => {
      execFileSync('mkfifo', [path.join(dir, 'pipe.yaml')]);
      assert.deepEqual(summary(await read()).problems, [`${path.join(dir, 'pipe.yaml')}:1:1: not a regular file`]);
    });
  });

  describe('conflicts', () => {
    it('reports two documents of one file naming the same app', async () => {
      const file = write(path.join(dir, 'web.yaml'), `${manifest('web')}---\n${manifest('web', 'v2')}`);
      const set = await read();
      assert.deepEqual(set.problems.map(formatProblem), [
        `${file}:4:9: app "web" is also defined in ${file}:11:9`,
        `${file}:11:9: app "web" is also defined in ${file}:4:9`,
      ]);
      assert.deepEqual([...set.conflicts], [['web', [file]]]);
      assert.equal(set.apps.size, 0);
    });

    it('counts an invalid document naming an app as a definition too', async () => {
      const good = write(path.join(dir, 'a.yaml'), manifest('web'));
      const bad = write(path.join(dir, 'b.yaml'), `${manifest('web')}  bogus: 1\n`);
      const set = await read();
      assert.deepEqual(set.problems.map(formatProblem), [
        `${good}:4:9: app "web" is also defined in ${bad}:4:9`,
        `${bad}:4:9: app "web" is also defined in ${good}:4:9`,
        `${bad}:7:3: spec.bogus: unknown field`,
      ]);
      assert.deepEqual([[...set.conflicts.keys()], [...set.invalid], set.apps.size], [['web'], ['web'], 0]);
    });
  });

  describe('caching', () => {
    it('re-parses only the files that changed, and forgets deleted ones', async () => {
      write(path.join(dir, 'a.yaml'), manifest('a'));
      write(path.join(dir, 'b.yaml'), manifest('b', 'v1'));
      write(path.join(dir, 'c.yaml'), manifest('c'));
      const manifests = new ManifestDirectory(dir, OPTIONS);
      const first = await manifests.read();

      write(path.join(dir, 'b.yaml'), manifest('b', 'v2'));
      unlinkSync(path.join(dir, 'c.yaml'));
      const second = await manifests.read();

      assert.equal(second.apps.get('a'), first.apps.get('a'), 'an unchanged file keeps its parsed App');
      assert.equal(second.apps.get('b')?.spec.tag, 'v2');
      assert.deepEqual([...second.apps.keys()], ['a', 'b']);
    });

    it('re-parses a file replaced by a rename even when size and mtime match', async () => {
      const file = write(path.join(dir, 'web.yaml'), manifest('web', 'v1'));
      const manifests = new ManifestDirectory(dir, OPTIONS);
      await manifests.read();
      const replacement = write(path.join(root, 'staging.yaml'), manifest('web', 'v2'));
      const { mtime } = statSync(file);
      utimesSync(replacement, mtime, mtime);
      renameSync(replacement, file);
      assert.equal((await manifests.read()).apps.get('web')?.spec.tag, 'v2');
    });
  });
});

describe('loadPaths', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'berth-paths-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('reads files and directories together and reports conflicts across them', async () => {
    const single = write(path.join(root, 'single.yaml'), manifest('web'));
    const inDir = write(path.join(root, 'dir', 'web.yaml'), manifest('web', 'v2'));
    write(path.join(root, 'dir', 'api.yaml'), manifest('api'));
    const set = await loadPaths([single, path.join(root, 'dir')], OPTIONS);
    assert.deepEqual(summary(set), {
      directory: 'ok',
      fileCount: 3,
      apps: ['api'],
      problems: [
        `${inDir}:4:9: app "web" is also defined in ${single}:4:9`,
        `${single}:4:9: app "web" is also defined in ${inDir}:4:9`,
      ],
    });
  });

  it('reads a file named explicitly whatever its extension', async () => {
    const file = write(path.join(root, 'web.txt'), manifest('web'));
    assert.deepEqual(summary(await loadPaths([file], OPTIONS)).apps, ['web']);
  });

  it('reads a file given twice once', async () => {
    const file = write(path.join(root, 'web.yaml'), manifest('web'));
    assert.deepEqual(summary(await loadPaths([file, root], OPTIONS)), {
      directory: 'ok',
      fileCount: 1,
      apps: ['web'],
      problems: [],
    });
  });

  it('reports a path that does not exist', async () => {
    const file = write(path.join(root, 'web.yaml'), manifest('web'));
    const missing = path.join(root, 'missing.yaml');
    assert.deepEqual(summary(await loadPaths([missing, file], OPTIONS)), {
      directory: 'ok',
      fileCount: 1,
      apps: ['web'],
      problems: [`${missing}:1:1: does not exist`],
    });
  });
});

describe('apps of files that cannot be read', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'berth-unconfirmed-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const stateOf = (set: ManifestSet) => ({
    apps: [...set.apps.keys()].sort(),
    invalid: [...set.invalid].sort(),
    problemApps: set.problems.map((p) => p.app),
  });

  it('reports the apps a broken file appears to define as invalid, even on a first read', async () => {
    write(path.join(dir, 'web.yaml'), `${manifest('web')}  command: a: b\n# name: commented-out\n`);
    write(path.join(dir, 'pair.yaml'), `metadata: {name: 'api'}\n---\nmetadata:\n  name: "worker"\nspec: [\n`);
    assert.deepEqual(stateOf(await loadPaths([dir], OPTIONS)), {
      apps: [],
      invalid: ['api', 'web', 'worker'],
      problemApps: [undefined, undefined],
    });
  });

  it('keeps the apps a file defined before it became unreadable, unparseable or nameless', async () => {
    const file = write(path.join(dir, 'apps.yaml'), `${manifest('web')}---\n${manifest('api')}`);
    write(path.join(dir, 'other.yaml'), manifest('other'));
    const manifests = new ManifestDirectory(dir, OPTIONS);
    assert.deepEqual(stateOf(await manifests.read()), { apps: ['api', 'other', 'web'], invalid: [], problemApps: [] });

    write(file, `${manifest('web')}\u0000`);
    assert.deepEqual(stateOf(await manifests.read()), {
      apps: ['other'],
      invalid: ['api', 'web'],
      problemApps: [undefined],
    });

    write(file, 'spec: [\n');
    assert.deepEqual(stateOf(await manifests.read()), {
      apps: ['other'],
      invalid: ['api', 'web'],
      problemApps: [undefined],
    });

    write(file, `${manifest('web')}---\n${manifest('Api')}`);
    assert.deepEqual(stateOf(await manifests.read()), {
      apps: ['other', 'web'],
      invalid: ['api'],
      problemApps: [undefined],
    });

    write(file, manifest('web'));
    assert.deepEqual(stateOf(await manifests.read()), { apps: ['other', 'web'], invalid: [], problemApps: [] });
  });
});
