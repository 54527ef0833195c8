import { strict as assert } from 'node:assert';
import { GitWriteBack, WriteBackError } from '../../../../src/images/write-back/git.js';
import { systemClock } from '../../../../src/util/clock.js';
import { silentLogger } from '../../../../src/util/silent-logger.js';

describe('GitWriteBack (options)', () => {
  const options = (author: { name: string; email: string }) => ({
    url: 'file:///nonexistent/repo.git',
    branch: 'main',
    path: '',
    dir: '/nonexistent/write-back',
    author,
    clock: systemClock,
    logger: silentLogger(),
  });

  it('refuses an author git would rewrite or that would forge a header line', () => {
    for (const author of [
      { name: 'berth\nSigned-off-by: mallory', email: 'berth@localhost' },
      { name: 'berth <evil@example.test>', email: 'berth@localhost' },
      { name: 'berth', email: 'berth@local host' },
      { name: '', email: 'berth@localhost' },
    ]) {
      assert.throws(
        () => new GitWriteBack(options(author)),
        (error: unknown) => error instanceof WriteBackError && error.kind === 'refused',
        JSON.stringify(author),
      );
    }
    assert.ok(new GitWriteBack(options({ name: 'berth bot', email: 'berth@localhost' })));
  });
});
