/**
 * The pure parts of a git write-back: the commit message naming app, from, to and policy; where
 * the manifest lies in the repository (never outside it); the tag a manifest's text says now; and
 * git's id of a blob, to tell that a file's bytes came through as text unchanged.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { parseManifestText } from '../../manifest/parse.js';
import { oneLine } from '../../util/strip-control.js';

/** A new tag to write into an app's manifest, and why. */
export interface TagChange {
  app: string;
  /** The manifest file's path relative to the manifests directory (`path`). */
  file: string;
  /** The tag the manifest says now (what the policy moved from). */
  from: string;
  to: string;
  /** The new tag's digest, written only where the manifest pins one. */
  digest?: string;
  /** The policy as people read it: `semver ^1`. */
  policy: string;
}

/** git's advice for a subject line, which `git log --oneline` and forges show whole. */
export const MAX_SUBJECT_LENGTH = 72;

/** How much of a policy's text the body quotes (it is a manifest author's). */
const MAX_POLICY_LENGTH = 200;

/**
 * `berth: web 1.1.0 -> 1.1.1` (cut to 72 characters, whole characters, `...` marking the cut) and
 * a body naming the app, both tags, the policy and the digest when there is one. Text from the
 * manifest or a registry is put on one line, terminal control taken out.
 */
export function commitMessage(change: TagChange): { subject: string; body: string } {
  const app = oneLine(change.app);
  const from = oneLine(change.from);
  const to = oneLine(change.to);
  const whole = `berth: ${app} ${from} -> ${to}`;
  const characters = Array.from(whole);
  const subject =
    characters.length <= MAX_SUBJECT_LENGTH ? whole : `${characters.slice(0, MAX_SUBJECT_LENGTH - 3).join('')}...`;
  const policyCharacters = Array.from(oneLine(change.policy));
  const policy =
    policyCharacters.length <= MAX_POLICY_LENGTH
      ? policyCharacters.join('')
      : `${policyCharacters.slice(0, MAX_POLICY_LENGTH).join('')}...`;
  const digest = change.digest !== undefined ? `\n\nDigest: ${oneLine(change.digest)}` : '';
  return { subject, body: `Image policy ${policy} of app ${app} moved its tag from ${from} to ${to}.${digest}` };
}

/**
 * The manifest's path from the repository's root (`path`/`file`, normalized), or undefined when
 * it would leave the repository, name the repository's own `.git`, or is not a file name at all.
 */
export function manifestPathInRepo(path: string, file: string): string | undefined {
  const pieces = [path, file];
  if (pieces.some((p) => p.includes('\0') || posix.isAbsolute(p))) return undefined;
  const joined = posix.normalize(posix.join(path, file));
  const segments = joined.split('/');
  if (posix.normalize(file) === '.' || joined === '.' || joined.endsWith('/')) return undefined;
  if (segments.some((s) => s === '..' || s === '' || s.toLowerCase() === '.git')) return undefined;
  return joined;
}

/** The tag the document of `app` in `text` says, if it says one as a string. */
export function tagIn(text: string, file: string, app: string): string | undefined {
  const doc = parseManifestText(text, file).documents.find(
    (d) => (d.value as { metadata?: { name?: unknown } } | null)?.metadata?.name === app,
  );
  const tag = (doc?.value as { spec?: { tag?: unknown } } | undefined)?.spec?.tag;
  return typeof tag === 'string' ? tag : undefined;
}

/** git's object id of a blob holding `bytes`, in the hash of `like` (40 hex: SHA-1, 64: SHA-256). */
export function blobId(bytes: Uint8Array, like: string): string {
  return createHash(like.length === 64 ? 'sha256' : 'sha1')
    .update(`blob ${bytes.length}\0`)
    .update(bytes)
    .digest('hex');
}
