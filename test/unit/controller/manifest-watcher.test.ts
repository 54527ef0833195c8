import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestWatcher } from '../../../src/controller/sources/manifest-watcher.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
import { FakeClock } from '../../support/fake-clock.js';

/** The fs.watch handles this process holds (what keeps it alive after berth stopped). */
const watchHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;

describe('ManifestWatcher', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-watcher-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('holds no watch after close, even when the directory was being re-armed (a git tree swap) as it closed', async function () {
    this.timeout(30_000);
    const before = watchHandles();
    for (const tree of ['a', 'b']) {
      await mkdir(join(root, 'trees', tree), { recursive: true });
      await writeFile(join(root, 'trees', tree, 'web.yaml'), 'x');
    }
    // The stop comes at every point of the re-arm in turn: after 0, 1, 2, ... turns of the event loop.
    for (let turns = 0; turns < 12; turns++) {
      await rm(join(root, 'current'), { force: true });
      await symlink(join('trees', 'a'), join(root, 'current'));
      const watcher = new ManifestWatcher(join(root, 'current'), () => undefined, {
        clock: new FakeClock(),
        logger: silentLogger(),
      });
      await watcher.start();
      assert.ok(watchHandles() > before, 'it watches');
      await symlink(join('trees', 'b'), join(root, 'current.new'));
      await rename(join(root, 'current.new'), join(root, 'current'));
      const rearming = watcher.recheck();
      for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
      await watcher.close();
      await rearming;
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(watchHandles(), before, `every watch let go (stopped after ${turns} turns)`);
    }
  });
});
