import { strict as assert } from 'node:assert';
import { formatPrettyLine } from '../../../src/util/pretty-line.js';

const at = new Date(2026, 10, 27, 9, 2, 15).getTime();
const line = (fields: Record<string, unknown>) => formatPrettyLine({ level: 30, time: at, ...fields });

describe('pretty log lines (--log-format pretty)', () => {
  it('shows a deploy the way Dokku does: headlines, indented details with durations, the deployed URLs', () => {
    const lines = [
      line({ app: 'web', step: 'release', msg: 'Releasing web (dokku/web:v2)...', revision: 'abc@sha256:1' }),
      line({ app: 'web', step: 'start', msg: 'Started dokku.web.abc.0', durationMs: 820 }),
      line({ app: 'web', step: 'checks', msg: 'Running pre-flight checks' }),
      line({
        app: 'web',
        step: 'checks',
        check: '/health',
        msg: 'CHECKS /health passed (1 attempt)',
        durationMs: 1500,
      }),
      line({ app: 'web', step: 'checks', result: 'passed', msg: 'All checks successful!', durationMs: 1500 }),
      line({ app: 'web', step: 'retire', seconds: 60, msg: 'Shutting down old containers in 60 seconds' }),
      line({
        app: 'web',
        step: 'deployed',
        msg: 'Application deployed: web (dokku/web:v2) at http://web.example.com',
        urls: ['http://web.example.com'],
        durationMs: 5300,
      }),
    ];
    assert.deepEqual(lines.join('\n').split('\n'), [
      '09:02:15 web        -----> Releasing web (dokku/web:v2)...',
      '09:02:15 web               Started dokku.web.abc.0 (0.8 s)',
      '09:02:15 web        -----> Running pre-flight checks',
      '09:02:15 web               CHECKS /health passed (1 attempt) (1.5 s)',
      '09:02:15 web        -----> All checks successful!',
      '09:02:15 web        -----> Shutting down old containers in 60 seconds',
      '09:02:15 web        =====> Application deployed: web (dokku/web:v2) (5.3 s)',
      '                           http://web.example.com',
    ]);
  });

  it('marks warnings and errors with " !" and adds the error when the message lacks it', () => {
    assert.equal(
      line({ level: 50, app: 'web', step: 'deploy', msg: 'web: deploy failed', reason: 'check /health got 500' }),
      '09:02:15 web         !     web: deploy failed: check /health got 500',
    );
    assert.equal(
      line({ level: 40, msg: 'resync failed', err: { message: 'socket hang up' } }),
      '09:02:15             !     resync failed: socket hang up',
    );
    assert.equal(
      line({ level: 40, msg: 'pull failed: denied', reason: 'denied' }),
      '09:02:15             !     pull failed: denied',
    );
  });

  it('frames a failing container output like the seed, one indented line per output line', () => {
    assert.deepEqual(
      line({
        level: 40,
        app: 'web',
        step: 'checks',
        msg: 'dokku.web.abc.0 container output (last 20 lines)',
        output: 'listening\ncrashed\n',
      }).split('\n'),
      [
        '09:02:15 web        =====> dokku.web.abc.0 container output (last 20 lines)',
        '                           listening',
        '                           crashed',
        '09:02:15 web        =====> end of web output',
      ],
    );
  });

  it('lets no terminal control through: a commit subject, an error, output lines and URLs are stripped', () => {
    const escapes = '\u001b[31mred\u001b[0m\u0007\u001b]0;title\u0007\u009b2J\u202e';
    const shown = [
      line({ app: 'web', step: 'deploy', msg: `Deploying web from 3f2a1c9 'bump ${escapes} <!channel>'` }),
      line({ level: 50, app: 'web', msg: 'deploy failed', reason: `engine said ${escapes}` }),
      line({ level: 40, app: 'web', msg: 'container output', output: `line ${escapes}\r\nnext\n` }),
      line({
        app: 'web',
        step: 'deployed',
        msg: 'Application deployed: web',
        urls: [`http://web.example.com/${escapes}`],
      }),
    ].join('\n');
    assert.doesNotMatch(shown, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    assert.match(shown, /bump red <!channel>'$/m, 'chat markup is no terminal control: the log shows it as it is');
    assert.match(shown, / ! {5}deploy failed: engine said red$/m);
  });
});
