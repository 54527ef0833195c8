/**
 * Whether a fetched commit is signed by a key the operator trusts. `git verify-commit` is not
 * enough: it accepts a GPG signature by any key in the keyring, trusted or not (and, with key
 * auto-retrieval, any key on a keyserver). So berth asks git what the signature is (its status,
 * key fingerprints and trust, `%G?` `%GF` `%GP` `%GT`) and judges it against an explicit list:
 *
 * - SSH signatures against `--git-allowed-signers FILE` (git's own `gpg.ssh.allowedSignersFile`
 *   format): good, and the key matched a principal of the file (trust `fully`).
 * - GPG signatures against `--git-trusted-key FINGERPRINT`: good (whatever the keyring's own trust
 *   says), and the signing key's or its primary key's fingerprint is listed.
 *
 * Anything else is refused with a one-line reason naming the key.
 */
import { runGit } from './git-command.js';

export interface SignatureTrust {
  /** An SSH allowed-signers file. */
  allowedSigners?: string;
  /** GPG fingerprints, upper-case hex without spaces. */
  trustedKeys: readonly string[];
}

/** What git says of a commit's signature. */
interface SignatureFacts {
  /** `%G?`: G good, U good of unknown validity, B bad, X/Y expired signature/key, R revoked, E cannot check, N none. */
  status: string;
  /** `%GF`: the signing key's fingerprint (`SHA256:...` for SSH, hex for GPG). */
  fingerprint: string;
  /** `%GP`: the primary key's fingerprint (GPG subkeys). */
  primary: string;
  /** `%GT`: undefined, never, marginal, fully, ultimate. */
  trust: string;
}

/** A GPG fingerprint as berth compares it: hex, upper case, no spaces. */
export function normalizeFingerprint(text: string): string | undefined {
  const compact = text.replace(/\s+/g, '').toUpperCase();
  return /^[0-9A-F]{40}$|^[0-9A-F]{64}$/.test(compact) ? compact : undefined;
}

/** Why the commit is not trusted, or undefined when it is. Pure. */
export function judgeSignature(facts: SignatureFacts, trust: SignatureTrust): string | undefined {
  const { status, fingerprint, primary } = facts;
  if (status === 'N' || status === '') return 'it is not signed';
  if (status === 'B') return 'its signature is bad';
  if (status === 'E') return `its signature cannot be checked (key ${fingerprint || 'unknown'} not available)`;
  if (status === 'X' || status === 'Y') return `its signature or key ${fingerprint} has expired`;
  if (status === 'R') return `it is signed by revoked key ${fingerprint}`;
  const ssh = fingerprint.startsWith('SHA256:');
  if (ssh) {
    if (trust.allowedSigners === undefined)
      return `it is signed by SSH key ${fingerprint}, and no --git-allowed-signers is given`;
    return status === 'G' && (facts.trust === 'fully' || facts.trust === 'ultimate')
      ? undefined
      : `it is signed by SSH key ${fingerprint}, which is not in --git-allowed-signers`;
  }
  if (status !== 'G' && status !== 'U') return `its signature status is ${status}`;
  const keys = [normalizeFingerprint(fingerprint), normalizeFingerprint(primary)].filter(
    (k): k is string => k !== undefined,
  );
  if (keys.some((k) => trust.trustedKeys.includes(k))) return undefined;
  return `it is signed by GPG key ${fingerprint || 'unknown'}, which is not a --git-trusted-key`;
}

/** Asks git about `sha`'s signature in `repo`; resolves to the reason it is refused, or undefined. */
export async function checkCommitSignature(
  repo: string,
  sha: string,
  trust: SignatureTrust,
): Promise<string | undefined> {
  const config =
    trust.allowedSigners !== undefined
      ? ['-c', `gpg.ssh.allowedSignersFile=${trust.allowedSigners}`]
      : ['-c', 'gpg.ssh.allowedSignersFile=/dev/null'];
  const out = await runGit([...config, '--git-dir', repo, 'log', '-1', '--format=%G?%x1f%GF%x1f%GP%x1f%GT', sha]);
  const [status = '', fingerprint = '', primary = '', level = ''] = out.trim().split('\x1f');
  return judgeSignature({ status, fingerprint, primary, trust: level }, trust);
}
