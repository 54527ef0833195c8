import { strict as assert } from 'node:assert';
import { formatTable } from '../../../src/cli/table.js';
import { describeCommit } from '../../../src/source/types.js';
import { sourceLine } from '../../../src/status/source-line.js';
import { oneLine, stripControl } from '../../../src/util/strip-control.js';

const ESCAPES = '\u001b[31mred\u001b[0m\u0007\u001b]0;pwned\u0007\u009b2J\u202e';
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/;

describe('what berth prints for people carries no terminal control', () => {
  it('stripControl keeps newlines and tabs; oneLine makes them spaces', () => {
    assert.equal(stripControl(`a${ESCAPES}\r\nb\tc`), 'ared\nb\tc');
    assert.equal(oneLine(`a${ESCAPES}\r\nb\tc`), 'ared b c');
  });

  it('a commit is named with its subject stripped, on one line (logs, status, history, events)', () => {
    assert.equal(
      describeCommit({
        sha: '3f2a1c9d'.padEnd(40, '0'),
        subject: `bump ${ESCAPES}\nsecond line`,
        author: 'a',
        time: '',
      }),
      "3f2a1c9 'bump red second line'",
    );
  });

  it('the CLI tables (status, history, events) and the source line', () => {
    const table = formatTable(
      ['APP', 'MESSAGE'],
      [
        ['web', `deploy failed: ${ESCAPES}\nstack`],
        [`x${ESCAPES}`, 'ok'],
      ],
    );
    assert.doesNotMatch(table, CONTROL);
    assert.equal(
      table,
      'APP   MESSAGE\nweb   deploy failed: red stack\nxred  ok\n',
      'the columns line up on what is shown',
    );
    const line = sourceLine(
      {
        url: 'https://git.example.com/team/deploy.git',
        branch: 'main',
        path: '',
        commit: { sha: 'a'.repeat(40), subject: `x${ESCAPES}`, author: '', time: '' },
        error: `fatal: ${ESCAPES}`,
        errorSince: 0,
      },
      60_000,
    );
    assert.doesNotMatch(line, CONTROL);
  });
});
