import { strict as assert } from 'node:assert';
import { main } from '../../../src/cli/main.js';
import type { Output } from '../../../src/cli/output.js';

/** main() with its output captured. */
async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out: Output = { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) };
  const code = await main(argv, out);
  return { code, stdout, stderr };
}

describe('berth --version and --help', () => {
  it('--version prints "berth <version>" on one line and exits 0', async () => {
    const result = await run(['--version']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^berth \S+\n$/);
    assert.equal(result.stderr, '');
  });

  it('--help and -h print the usage, which names both, and exit 0; no arguments prints it and exits 1', async () => {
    for (const flag of ['--help', '-h']) {
      const result = await run([flag]);
      assert.equal(result.code, 0, flag);
      assert.match(result.stdout, /^ {2}berth --version\b/m);
      assert.match(result.stdout, /^ {2}berth --help, -h\b/m);
    }
    const bare = await run([]);
    assert.equal(bare.code, 1);
    assert.match(bare.stdout, /berth --version/);
  });

  it('a misspelt --version is an unknown command, not the version', async () => {
    const result = await run(['--versions']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /unknown command "--versions"/);
  });
});
