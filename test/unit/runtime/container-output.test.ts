import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  containerText,
  CONTAINER_OUTPUT_LIMIT_BYTES,
  lastLinesOf,
  OutputTail,
  secretValues,
} from '../../../src/runtime/container-output.js';
import { stripControl } from '../../../src/util/strip-control.js';
import { testApp } from '../../support/apps.js';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

describe('container output: what berth keeps of it (OutputTail)', () => {
  it('keeps exactly the last `limit` bytes of what was pushed, however it was chunked, and counts the rest', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 30 }),
        (limit, chunks) => {
          const tail = new OutputTail(limit);
          for (const chunk of chunks) tail.push(chunk);
          const all = Buffer.concat(chunks);
          assert.deepEqual(tail.bytes(), all.subarray(Math.max(0, all.length - limit)));
          assert.equal(tail.dropped, Math.max(0, all.length - limit));
          assert.equal(tail.written, all.length);
        },
      ),
    );
  });

  it('holds 64 KiB by default, whatever a flood pushes through it', () => {
    const tail = new OutputTail();
    const chunk = Buffer.alloc(100_000, 'x');
    for (let i = 0; i < 2_000; i++) tail.push(chunk); // 200 MB
    tail.push(Buffer.from('\nthe last line\n'));
    assert.equal(tail.limit, CONTAINER_OUTPUT_LIMIT_BYTES);
    assert.equal(tail.bytes().length, 64 * 1024);
    assert.equal(tail.dropped, 200_000_000 + 15 - 64 * 1024);
    assert.ok(text(tail.bytes()).endsWith('x\nthe last line\n'));
  });

  it('keeps nothing with a limit of 0, and counts it', () => {
    const tail = new OutputTail(0);
    tail.push(Buffer.from('abc'));
    assert.deepEqual([tail.bytes().length, tail.dropped], [0, 3]);
  });
});

describe('container output: the one path to text (containerText)', () => {
  const secrets = ['DB_PASSWORD=s3cret-pw', 's3cret-pw', 'tok-from-env-file'];
  const said = (raw: string, dropped = 0) => containerText(Buffer.from(raw), dropped, secrets);

  it('redacts each secret, KEY=value first, and leaves the rest as it was said', () => {
    assert.equal(
      said('connecting to postgres://app:s3cret-pw@db/app\nwith DB_PASSWORD=s3cret-pw and tok-from-env-file\n'),
      'connecting to postgres://app:<redacted>@db/app\nwith <redacted> and <redacted>\n',
    );
    assert.equal(said('nothing secret\there\n'), 'nothing secret\there\n');
  });

  it('strips terminal control: escape sequences whole, bells, backspaces, invisible format characters; \\r becomes a line break', () => {
    assert.equal(said('\u001b[31mred\u001b[0m \u001b[2J\u001b[10;20Hmoved\u0007\n'), 'red moved\n');
    assert.equal(said('\u001b]0;a new window title\u0007after\n'), 'after\n');
    assert.equal(said('\u001b]8;;http://x.test\u001b\\link\u001b]8;;\u001b\\\n'), 'link\n');
    assert.equal(said('\u001bPdevice control\u001b\\kept\u001b(B\u001b=\n'), 'kept\n');
    assert.equal(said('\u009b31mc1 csi\u0085\u009d title\u009c.\n'), 'c1 csi.\n');
    assert.equal(said('50%\r100%\r\nnext\u0008\u0000\u007f\n'), '50%\n100%\nnext\n');
    assert.equal(said('a\u202eevil\u202c\u200bb\ufeff\n'), 'aevilb\n');
    assert.equal(said('an unterminated \u001b]0;title\nnext line\n'), 'an unterminated \nnext line\n');
  });

  it('strips before it redacts: a secret split by control characters is still found', () => {
    assert.equal(
      said('pw: s3cr\u001b[0met-pw, s3\u200bcret-pw, s3cret\u0007-pw\n'),
      'pw: <redacted>, <redacted>, <redacted>\n',
    );
  });

  it('redacts a secret with control characters in it as the text shows it', () => {
    assert.equal(
      containerText(Buffer.from('key:\nline one\r\nline two\r\n'), 0, ['line one\r\nline two']),
      'key:\n<redacted>\n',
    );
  });

  it('says how much was cut, and drops the cut first line so no piece of a secret starts the text', () => {
    assert.equal(
      said('ret-pw partial first line\nsecond s3cret-pw\n', 1000),
      '[output truncated: 1026 bytes dropped]\nsecond <redacted>\n',
    );
  });

  it('redacts the piece of a secret a cut line starts with, when the text is one line', () => {
    assert.equal(said('ret-pw and on', 10), '[output truncated: 10 bytes dropped]\n<redacted> and on');
    assert.equal(said('-env-file!', 10), '[output truncated: 10 bytes dropped]\n<redacted>!');
    assert.equal(said('zzz', 10), '[output truncated: 10 bytes dropped]\nzzz');
  });

  it('keeps text that is not UTF-8 as replacement characters, never as control', () => {
    assert.equal(containerText(Buffer.from([0x6f, 0x6b, 0xff, 0x1b, 0x5b, 0x41, 0x0a]), 0, []), 'ok\ufffd\n');
  });

  it('finds no secret and no control character in any text, for any secrets', () => {
    const secret = fc.string({ minLength: 4, maxLength: 12, unit: fc.constantFrom('a', 'b', 'c', 'd', '=', ':') });
    fc.assert(
      fc.property(
        fc.array(secret, { minLength: 1, maxLength: 3 }),
        fc.array(fc.oneof(secret, fc.constantFrom('\u001b[0m', '\n', '\u0007', 'xy', '\r')), { maxLength: 12 }),
        (values, parts) => {
          const out = containerText(Buffer.from(parts.join('')), 0, values);
          for (const value of values)
            assert.ok(!out.includes(value), `${JSON.stringify(value)} in ${JSON.stringify(out)}`);
          assert.doesNotMatch(out, /[\u0000-\u0008\u000b-\u001f\u007f]/);
        },
      ),
    );
  });
});

describe('container output: the secrets of an app (secretValues)', () => {
  it("lists the manifest's env, the env files' variables, and each secret file whole and line by line", () => {
    const app = testApp('web', {
      env: { MODE: 'production', DB_PASSWORD: 'pw-manifest', N: '1' },
      resolved: {
        env: { API_TOKEN: 'tok-from-age' },
        files: [
          {
            target: '/run/secrets/key',
            content: Buffer.from('-----BEGIN KEY-----\nAAAAline-one-of-key\nBBBBline-two-of-key\n-----END KEY-----\n'),
          },
          { target: '/run/secrets/pw', content: Buffer.from('file-pw-1\n') },
          { target: '/run/secrets/short', content: Buffer.from('abc') },
        ],
        digest: 'd',
      },
    });
    const secrets = secretValues(app.spec);
    for (const expected of [
      'MODE=production',
      'production',
      'DB_PASSWORD=pw-manifest',
      'pw-manifest',
      'N=1',
      'API_TOKEN=tok-from-age',
      'tok-from-age',
      'file-pw-1',
      'AAAAline-one-of-key',
      'BBBBline-two-of-key',
    ]) {
      assert.ok(secrets.includes(expected), expected);
    }
    assert.ok(!secrets.includes('1'), 'a value too short to tell apart is redacted only as KEY=value');
    assert.ok(!secrets.includes('abc'), 'so is a file too short');
    const said = containerText(Buffer.from('key: AAAAline-one-of-key\npw file-pw-1 token tok-from-age\n'), 0, secrets);
    assert.equal(said, 'key: <redacted>\npw <redacted> token <redacted>\n');
  });

  it("lists each line of a value of several lines (a PEM key from an env file), as it does a secret file's", () => {
    const key = '-----BEGIN KEY-----\nCCCCline-one-of-env-key\r\nDDDDline-two-of-env-key\n-----END KEY-----';
    const secrets = secretValues(
      testApp('web', { env: { MODE: 'a\nb' }, resolved: { env: { TLS_KEY: key }, files: [], digest: 'd' } }).spec,
    );
    for (const expected of [
      key,
      `TLS_KEY=${key}`,
      'CCCCline-one-of-env-key',
      'DDDDline-two-of-env-key',
      '-----END KEY-----',
    ])
      assert.ok(secrets.includes(expected), expected);
    assert.ok(!secrets.includes('a') && !secrets.includes('b'), 'lines too short to tell apart are not');
    assert.equal(containerText(Buffer.from('loaded DDDDline-two-of-env-key\n'), 0, secrets), 'loaded <redacted>\n');
  });
});

describe('container output: what berth logs and records of it (lastLinesOf)', () => {
  it('keeps the last lines, at most the given characters, under one note counting all that was left out', () => {
    const lines = `${Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n')}\n`;
    assert.equal(lastLinesOf(lines, 3), '[output truncated: 207 bytes dropped]\nline 28\nline 29\nline 30');
    assert.equal(
      lastLinesOf('[output truncated: 1000 bytes dropped]\nxxxxxxxxxx\nlast', 20, 8),
      '[output truncated: 1011 bytes dropped]\nlast',
    );
    assert.equal(lastLinesOf('a\nb\n'), 'a\nb');
    assert.equal(lastLinesOf('y'.repeat(10), 20, 4), '[output truncated: 6 bytes dropped]\nyyyy');
  });
});

describe('stripControl', () => {
  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => assert.equal(stripControl(stripControl(s)), stripControl(s))),
    );
  });
});
