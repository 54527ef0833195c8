import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describeFailure } from '../../../src/cli/errors.js';
import { parseDotenv } from '../../../src/secrets/dotenv.js';
import { mappedStack } from '../../../src/util/mapped-stack.js';

/** `line:col` (1-based) where `text` is in `file`. */
const positionOf = (file: string, text: string) => {
  const lines = readFileSync(file, 'utf8').split('\n');
  const index = lines.findIndex((line) => line.includes(text));
  return `${index + 1}:${(lines[index] ?? '').indexOf(text) + 1}`;
};

describe('stack traces as TypeScript source (mappedStack)', () => {
  it("gives an unexpected error's frames as src/...ts:LINE:COL through the maps beside the compiled files", () => {
    let error: Error | undefined;
    try {
      parseDotenv('not a variable');
    } catch (caught) {
      error = caught as Error;
    }
    assert.match(
      error?.stack ?? '',
      /\.build\/src\/secrets\/dotenv\.js:\d+:\d+\)$/m,
      "tsc's output runs here, with its maps beside it",
    );
    const { message, exitCode } = describeFailure(error);
    assert.equal(exitCode, 1);
    const [first, top, caller] = message.split('\n');
    assert.equal(first, 'berth: unexpected error: Error: line 1 is not NAME=value');
    assert.equal(
      top,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text searched for
      `    at parseDotenv (src/secrets/dotenv.ts:${positionOf('src/secrets/dotenv.ts', 'new Error(`line ${unread}')})`,
    );
    assert.match(caller ?? '', /^ {4}at Context\.<anonymous> \(test\/unit\/util\/mapped-stack\.test\.ts:\d+:\d+\)$/);
    assert.doesNotMatch(message, /\.build\//);
  });

  it('leaves a frame without a map, an unreadable map or no entry as it was, and reads each map once', () => {
    const stack = [
      'TypeError: x is not a function',
      '    at Module._compile (node:internal/modules/cjs/loader:1554:14)',
      '    at f (/nowhere/dist/command-run.js:2:100)',
      '    at /nowhere/dist/command-run.js:2:100',
      '    at async Promise.all (index 0)',
      '    at g (file:///nowhere/bad.js:3:4)',
      '    at h (/nowhere/dist/command-run.js:1:1)',
    ].join('\n');
    const reads: string[] = [];
    const map = JSON.stringify({
      version: 3,
      file: 'command-run.js',
      sources: ['../src/cli/main.ts'],
      names: [],
      mappings: ';AAAA,oBACE',
      sourcesContent: ['x'],
    });
    const mapped = mappedStack(stack, (file) => {
      reads.push(file);
      if (file === '/nowhere/dist/command-run.js.map') return map;
      throw new Error('ENOENT');
    });
    assert.deepEqual(mapped.split('\n'), [
      'TypeError: x is not a function',
      '    at Module._compile (node:internal/modules/cjs/loader:1554:14)',
      '    at f (src/cli/main.ts:2:3)',
      '    at src/cli/main.ts:2:3',
      '    at async Promise.all (index 0)',
      '    at g (file:///nowhere/bad.js:3:4)',
      '    at h (/nowhere/dist/command-run.js:1:1)',
    ]);
    assert.deepEqual(reads, ['/nowhere/dist/command-run.js.map', '/nowhere/bad.js.map']);
    assert.equal(mappedStack('Error: no frames'), 'Error: no frames');
  });
});
