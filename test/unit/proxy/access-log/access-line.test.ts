import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { parseAccessLine, secondsToMs } from '../../../../src/proxy/access-log/access-line.js';

const TOKEN = '0123456789abcdef0123456789abcdef';

function line(fields: Record<string, string>, token = TOKEN): string {
  return `${token} ${JSON.stringify({
    upstream_addr: '127.0.0.1:8001',
    upstream_status: '200',
    upstream_response_time: '0.004',
    status: '200',
    request_time: '0.005',
    msec: '1765062366.123',
    ...fields,
  })}`;
}

describe('canary access line', () => {
  it('reads a line with the token: nginx clock, status, attempts', () => {
    assert.deepEqual(parseAccessLine(line({}), TOKEN), {
      at: 1_765_062_366_123,
      status: 200,
      requestMs: 5,
      attempts: [{ address: '127.0.0.1:8001', status: 200, responseMs: 4 }],
    });
  });

  it('reads a retry from the canary to the stable revision as two attempts', () => {
    const entry = parseAccessLine(
      line({
        upstream_addr: '127.0.0.1:8001, 127.0.0.1:8002',
        upstream_status: '502, 200',
        upstream_response_time: '0.000, 0.003',
      }),
      TOKEN,
    );
    assert.ok(typeof entry === 'object');
    assert.deepEqual(
      entry.attempts.map((a) => [a.address, a.status]),
      [
        ['127.0.0.1:8001', 502],
        ['127.0.0.1:8002', 200],
      ],
    );
  });

  it('refuses a line without the exact token before reading anything else', () => {
    assert.equal(parseAccessLine(line({}, TOKEN.slice(1)), TOKEN), 'token');
    assert.equal(parseAccessLine(line({}, `${TOKEN}0`), TOKEN), 'token');
    assert.equal(parseAccessLine(line({}, TOKEN.toUpperCase()), TOKEN), 'token');
    assert.equal(parseAccessLine(`${TOKEN}`, TOKEN), 'token');
    assert.equal(parseAccessLine(`{"upstream_addr":"127.0.0.1:8001"}`, TOKEN), 'token');
  });

  it('counts a line with the token that cannot be read as malformed', () => {
    assert.equal(parseAccessLine(`${TOKEN} {`, TOKEN), 'malformed');
    assert.equal(parseAccessLine(`${TOKEN} []`, TOKEN), 'malformed');
    assert.equal(parseAccessLine(line({ msec: 'now' }), TOKEN), 'malformed');
    assert.equal(parseAccessLine(line({ status: '20' }), TOKEN), 'malformed');
    assert.equal(parseAccessLine(line({ upstream_status: '200, 200' }), TOKEN), 'malformed');
    const withoutField = `${TOKEN} ${JSON.stringify({ upstream_addr: '', upstream_status: '', status: '404' })}`;
    assert.equal(parseAccessLine(withoutField, TOKEN), 'malformed');
  });

  it('reads a request nginx answered itself (escape=json writes empty values) as no attempt', () => {
    const entry = parseAccessLine(line({ upstream_addr: '', upstream_status: '', upstream_response_time: '' }), TOKEN);
    assert.ok(typeof entry === 'object');
    assert.deepEqual(entry.attempts, []);
  });

  it('reads nginx seconds as whole milliseconds', () => {
    assert.equal(secondsToMs('0.004'), 4);
    assert.equal(secondsToMs('12'), 12_000);
    assert.equal(secondsToMs('1.5'), 1500);
    assert.equal(secondsToMs('-1'), undefined);
    assert.equal(secondsToMs('1e3'), undefined);
  });

  it('never throws, and refuses every line without the token', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        fc.pre(!text.startsWith(`${TOKEN} `));
        assert.equal(parseAccessLine(text, TOKEN), 'token');
      }),
    );
  });
});
