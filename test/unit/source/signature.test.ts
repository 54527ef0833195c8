import { strict as assert } from 'node:assert';
import { judgeSignature, normalizeFingerprint } from '../../../src/source/git/signature.js';

const TRUSTED = 'A'.repeat(40);
const OTHER = 'B'.repeat(40);

describe('commit signatures judged against an explicit trust list (judgeSignature)', () => {
  const trust = { allowedSigners: '/etc/berth/allowed_signers', trustedKeys: [TRUSTED] };

  it("accepts a good GPG signature by a listed key or its primary key, whatever the keyring's own trust", () => {
    assert.equal(
      judgeSignature({ status: 'U', fingerprint: TRUSTED, primary: TRUSTED, trust: 'undefined' }, trust),
      undefined,
    );
    assert.equal(
      judgeSignature({ status: 'G', fingerprint: OTHER, primary: TRUSTED, trust: 'ultimate' }, trust),
      undefined,
    );
  });

  it('refuses a GPG key only the keyring knows, however much the keyring trusts it', () => {
    assert.equal(
      judgeSignature({ status: 'G', fingerprint: OTHER, primary: OTHER, trust: 'ultimate' }, trust),
      `it is signed by GPG key ${OTHER}, which is not a --git-trusted-key`,
    );
  });

  it('accepts an SSH signature only when the allowed-signers file matched it, and only with such a file', () => {
    const key = 'SHA256:16fHHvnH0umpb1y0oUfAgmMuXVQsY1dZWJtdWhOA17g';
    assert.equal(judgeSignature({ status: 'G', fingerprint: key, primary: '', trust: 'fully' }, trust), undefined);
    assert.equal(
      judgeSignature({ status: 'U', fingerprint: key, primary: '', trust: 'undefined' }, trust),
      `it is signed by SSH key ${key}, which is not in --git-allowed-signers`,
    );
    assert.equal(
      judgeSignature({ status: 'G', fingerprint: key, primary: '', trust: 'fully' }, { trustedKeys: [TRUSTED] }),
      `it is signed by SSH key ${key}, and no --git-allowed-signers is given`,
    );
  });

  it('says why anything else is refused', () => {
    assert.equal(judgeSignature({ status: 'N', fingerprint: '', primary: '', trust: '' }, trust), 'it is not signed');
    assert.equal(
      judgeSignature({ status: 'B', fingerprint: TRUSTED, primary: TRUSTED, trust: '' }, trust),
      'its signature is bad',
    );
    assert.equal(
      judgeSignature({ status: 'R', fingerprint: TRUSTED, primary: TRUSTED, trust: '' }, trust),
      `it is signed by revoked key ${TRUSTED}`,
    );
    assert.equal(
      judgeSignature({ status: 'E', fingerprint: '', primary: '', trust: '' }, trust),
      'its signature cannot be checked (key unknown not available)',
    );
  });

  it('reads fingerprints as people paste them', () => {
    assert.equal(
      normalizeFingerprint('a1b2 c3d4 e5f6 a1b2 c3d4  e5f6 a1b2 c3d4 e5f6 a1b2'),
      'A1B2C3D4E5F6A1B2C3D4E5F6A1B2C3D4E5F6A1B2',
    );
    assert.equal(normalizeFingerprint('0xDEADBEEF'), undefined);
  });
});
