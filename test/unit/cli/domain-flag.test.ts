import { strict as assert } from 'node:assert';
import { checkedDomain } from '../../../src/cli/domain-flag.js';
import { UsageError } from '../../../src/cli/usage.js';

describe('--domain (it goes into nginx server names and certificate orders)', () => {
  it('takes a lowercase hostname', () => {
    assert.equal(checkedDomain('apps.example.test'), 'apps.example.test');
    assert.equal(checkedDomain('localhost'), 'localhost');
  });

  it("refuses what would change nginx's configuration or is no hostname, in one printable line", () => {
    for (const hostile of [
      'example.test; return 200',
      'example.test\n    root /',
      'EXAMPLE.test',
      '-x.test',
      'a..b',
      '*.example.test',
      '',
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.test`,
    ]) {
      assert.throws(
        () => checkedDomain(hostile),
        (error: unknown) =>
          error instanceof UsageError &&
          /^--domain ".*" is not a lowercase hostname of at most 189 characters/.test(error.message) &&
          !error.message.includes('\n'),
        JSON.stringify(hostile),
      );
    }
  });
});
