import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { splitUpstreamAttempts } from '../../../../src/proxy/access-log/upstream-attempts.js';

describe('upstream attempts', () => {
  it('reads one attempt', () => {
    assert.deepEqual(splitUpstreamAttempts('127.0.0.1:8001', '200', '0.012'), [
      { address: '127.0.0.1:8001', status: 200, responseMs: 12 },
    ]);
  });

  it('reads a retry as one attempt per upstream, in order: a failed connect is a 502 with no time', () => {
    assert.deepEqual(splitUpstreamAttempts('127.0.0.1:8001, 127.0.0.1:8002', '502, 200', '-, 1.250'), [
      { address: '127.0.0.1:8001', status: 502 },
      { address: '127.0.0.1:8002', status: 200, responseMs: 1250 },
    ]);
  });

  it('reads the groups of an internal redirect, separated by " : "', () => {
    assert.deepEqual(
      splitUpstreamAttempts('127.0.0.1:1, 127.0.0.1:2 : 127.0.0.1:3', '504, 502 : 200', '60.001, 0.000 : 0.003'),
      [
        { address: '127.0.0.1:1', status: 504, responseMs: 60_001 },
        { address: '127.0.0.1:2', status: 502, responseMs: 0 },
        { address: '127.0.0.1:3', status: 200, responseMs: 3 },
      ],
    );
  });

  it('reads no answer read (status -) as an attempt without a status', () => {
    assert.deepEqual(splitUpstreamAttempts('127.0.0.1:1', '-', '0.100'), [{ address: '127.0.0.1:1', responseMs: 100 }]);
  });

  it('reads a request nginx answered itself as no attempt', () => {
    assert.deepEqual(splitUpstreamAttempts('', '', ''), []);
    assert.deepEqual(splitUpstreamAttempts('-', '-', '-'), []);
  });

  it('refuses lists of different lengths and unreadable items', () => {
    assert.equal(splitUpstreamAttempts('127.0.0.1:1, 127.0.0.1:2', '200', '0.001'), undefined);
    assert.equal(splitUpstreamAttempts('127.0.0.1:1', '200, 200', '0.001'), undefined);
    assert.equal(splitUpstreamAttempts('127.0.0.1:1', 'ok', '0.001'), undefined);
    assert.equal(splitUpstreamAttempts('127.0.0.1:1', '200', 'soon'), undefined);
    assert.equal(splitUpstreamAttempts('', '200', '0.001'), undefined);
  });

  it('gives back every attempt nginx wrote, whatever the retries', () => {
    const attempt = fc.record({
      port: fc.integer({ min: 1, max: 65535 }),
      status: fc.oneof(fc.integer({ min: 100, max: 599 }), fc.constant(undefined)),
      ms: fc.oneof(fc.integer({ min: 0, max: 10_000_000 }), fc.constant(undefined)),
      newGroup: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(attempt, { minLength: 1, maxLength: 12 }), (attempts) => {
        const joined = (item: (a: (typeof attempts)[number]) => string) =>
          attempts.map((a, i) => `${i === 0 ? '' : a.newGroup ? ' : ' : ', '}${item(a)}`).join('');
        const parsed = splitUpstreamAttempts(
          joined((a) => `127.0.0.1:${a.port}`),
          joined((a) => (a.status === undefined ? '-' : String(a.status))),
          joined((a) =>
            a.ms === undefined ? '-' : `${Math.floor(a.ms / 1000)}.${String(a.ms % 1000).padStart(3, '0')}`,
          ),
        );
        assert.deepEqual(
          parsed,
          attempts.map((a) => ({
            address: `127.0.0.1:${a.port}`,
            ...(a.status === undefined ? {} : { status: a.status }),
            ...(a.ms === undefined ? {} : { responseMs: a.ms }),
          })),
        );
      }),
    );
  });
});
