import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { parseSyslogFrame } from '../../../../src/proxy/access-log/syslog-frame.js';

describe('nginx syslog frame', () => {
  it('reads the frame nginx writes with nohostname: priority, tag, the line after it', () => {
    assert.deepEqual(parseSyslogFrame('<190>Dec  6 23:06:06 berth: abc {"a":"b"}'), {
      priority: 190,
      tag: 'berth',
      message: 'abc {"a":"b"}',
    });
    assert.deepEqual(parseSyslogFrame('<14>Jan 16 00:00:59 nginx: x')?.message, 'x');
  });

  it('drops a trailing line feed a relay may add', () => {
    assert.equal(parseSyslogFrame('<190>Dec 16 23:06:06 berth: line\n')?.message, 'line');
  });

  it('reads nothing from other frames: a hostname, no priority, another date, RFC 5424', () => {
    for (const text of [
      '<190>Dec  6 23:06:06 host berth: line',
      'Dec  6 23:06:06 berth: line',
      '<190>2026-12-06T23:06:06Z berth: line',
      '<190>1 2026-12-06T23:06:06Z host berth - - - line',
      '<999>Dec  6 23:06:06 berth: line',
      '<190>Dec 6 23:06:06 berth: line',
      '',
    ]) {
      assert.equal(parseSyslogFrame(text), undefined, text);
    }
  });

  it('never throws on any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        parseSyslogFrame(text);
        parseSyslogFrame(`<190>Dec  6 23:06:06 berth: ${text}`);
      }),
    );
  });
});
