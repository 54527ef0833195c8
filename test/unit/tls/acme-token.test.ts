import { strict as assert } from 'node:assert';
import { challengeTokenProblem } from '../../../src/tls/acme-issuer.js';

describe('an ACME challenge token as a file name', () => {
  it('is one only when it is base64url (RFC 8555 section 8.1), as every CA sends it', () => {
    for (const token of ['LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0', 'a', 'A-z_0', 'x'.repeat(255)])
      assert.equal(challengeTokenProblem(token), undefined, token);
  });

  it('refuses anything else in one line naming the reason, quoting at most 40 characters of it, without control characters', () => {
    assert.equal(
      challengeTokenProblem('../../x'),
      'the ACME server\'s challenge token "../../x" is not base64url (only A-Z, a-z, 0-9, - and _): it names no file, nothing was written',
    );
    for (const token of ['.', '..', 'a/b', 'a.b', 'a b', '/etc/passwd', 'a\u0000b', 'tok=', 'ａｂ'])
      assert.match(challengeTokenProblem(token) ?? '', /is not base64url/, token);
    assert.match(challengeTokenProblem('') ?? '', /^the ACME server's challenge token is empty: it names no file/);
    assert.match(
      challengeTokenProblem(undefined) ?? '',
      /^the ACME server's challenge token is not a string \(undefined\)/,
    );
    assert.match(challengeTokenProblem(null) ?? '', /is not a string \(null\)/);
    assert.match(challengeTokenProblem(['a']) ?? '', /is not a string \(object\)/);
    assert.equal(
      challengeTokenProblem('x'.repeat(256)),
      `the ACME server's challenge token "${'x'.repeat(40)}"... (256 characters) is longer than a file name may be (255 characters): it names no file, nothing was written`,
    );

    const hostile = `../../\u001b]0;owned\u0007\u001b[2J\r\n\u202e${'A'.repeat(100_000)}`;
    const line = challengeTokenProblem(hostile) ?? '';
    assert.match(
      line,
      /^the ACME server's challenge token "\.\.\/\.\.\/ A{33}"\.\.\. \(100023 characters\) is not base64url/,
    );
    assert.ok(line.length < 200, `${line.length} characters`);
    assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u202e]/);
  });
});
