import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { normalizeFingerprint, type SignatureTrust } from '../source/git/signature.js';
import { redactUrl } from '../source/git/redact-url.js';
import { positiveInteger } from './options.js';
import { secretFileText } from './secret-file-flag.js';
import { UsageError } from './usage.js';

/** The flags that make `run` (and `plan`) follow a git repository instead of a directory. */
export const GIT_FLAGS = {
  git: { type: 'string' },
  'git-url-file': { type: 'string' },
  'git-branch': { type: 'string', default: 'main' },
  'git-path': { type: 'string', default: '' },
  'git-interval': { type: 'string', default: '60' },
  'git-webhook-secret-file': { type: 'string' },
  'git-verify-signatures': { type: 'boolean', default: false },
  'git-allowed-signers': { type: 'string' },
  'git-trusted-key': { type: 'string', multiple: true, default: [] as string[] },
  'git-author': { type: 'string' },
  'git-push-branch': { type: 'string' },
  'git-max-tree-mib': { type: 'string', default: '512' },
} as const;

export interface GitValues {
  git?: string | undefined;
  'git-url-file'?: string | undefined;
  'git-branch': string;
  'git-path': string;
  'git-interval': string;
  'git-webhook-secret-file'?: string | undefined;
  'git-verify-signatures': boolean;
  'git-allowed-signers'?: string | undefined;
  'git-trusted-key': string[];
  'git-author'?: string | undefined;
  'git-push-branch'?: string | undefined;
  'git-max-tree-mib': string;
}

export interface GitSettings {
  url: string;
  branch: string;
  path: string;
  intervalSeconds: number;
  webhookSecret?: string;
  /** With --git-verify-signatures: the keys a head must be signed by. */
  signatures?: SignatureTrust;
  /** Who image automation's commits are by (--git-author "NAME <EMAIL>"). */
  author: { name: string; email: string };
  /** Image automation pushes its commits to this branch, for review, instead of the followed one. */
  pushBranch?: string;
  /** The most a commit's tree may hold (--git-max-tree-mib), in bytes; a fetch's pack may be twice that. */
  maxTreeBytes: number;
}

/** What the git flags ask for: undefined without a repository (--git, --git-url-file or BERTH_GIT_URL). */
export async function gitSettings(
  values: GitValues,
  env: NodeJS.ProcessEnv = process.env,
): Promise<GitSettings | undefined> {
  const url = await repositoryUrl(values, env);
  if (url === undefined) {
    if (values['git-webhook-secret-file'] !== undefined) throw new UsageError('--git-webhook-secret-file needs --git');
    if (values['git-push-branch'] !== undefined) throw new UsageError('--git-push-branch needs --git');
    return undefined;
  }
  if (url.startsWith('-') || url.trim() === '')
    throw new UsageError(`--git "${redactUrl(url)}" is not a repository URL`);
  const branch = values['git-branch'];
  if (!isBranchName(branch)) throw new UsageError(`--git-branch "${branch}" is not a branch name`);
  const path = values['git-path'].replace(/^\/+|\/+$/g, '');
  if (path.split('/').includes('..')) throw new UsageError(`--git-path "${values['git-path']}" leaves the repository`);
  const intervalSeconds = positiveInteger(values as unknown as Record<string, unknown>, 'git-interval');
  let webhookSecret: string | undefined;
  const secretFile = values['git-webhook-secret-file'];
  if (secretFile !== undefined) {
    webhookSecret = (await secretFileText('--git-webhook-secret-file', secretFile)).trim();
    if (webhookSecret === '') throw new UsageError(`--git-webhook-secret-file ${secretFile} is empty`);
  }
  const signatures = await signatureTrust(values);
  const author = parseAuthor(values['git-author'] ?? DEFAULT_AUTHOR);
  const pushBranch = values['git-push-branch'];
  if (pushBranch !== undefined && (!isBranchName(pushBranch) || pushBranch === branch))
    throw new UsageError(
      pushBranch === branch
        ? `--git-push-branch "${pushBranch}" is the followed branch: leave it out to push there`
        : `--git-push-branch "${pushBranch}" is not a branch name`,
    );
  // 64 GiB at most: twice that is the largest pack file, and prlimit takes bytes.
  const maxTreeBytes =
    positiveInteger(values as unknown as Record<string, unknown>, 'git-max-tree-mib', 1, 65_536) * 1024 * 1024;
  return {
    url,
    branch,
    path,
    intervalSeconds,
    maxTreeBytes,
    author,
    ...(pushBranch !== undefined ? { pushBranch } : {}),
    ...(webhookSecret !== undefined ? { webhookSecret } : {}),
    ...(signatures ? { signatures } : {}),
  };
}

/** Who image automation's commits are by without --git-author. */
const DEFAULT_AUTHOR = 'berth <berth@localhost>';

function isBranchName(branch: string): boolean {
  return /^[A-Za-z0-9._/-]+$/.test(branch) && !branch.startsWith('-') && !branch.includes('..');
}

/** `NAME <EMAIL>` as git writes an author; one line, no angle brackets in the name. */
function parseAuthor(text: string): { name: string; email: string } {
  const match = /^([^<>\n]+?)\s*<([^<>\s]+)>$/.exec(text.trim());
  if (!match) throw new UsageError(`--git-author "${text.slice(0, 80)}" is not "NAME <EMAIL>"`);
  return { name: match[1]!, email: match[2]! };
}

/**
 * The trust list --git-verify-signatures judges by: an SSH allowed-signers file, GPG fingerprints,
 * or both. A bare --git-verify-signatures trusted any key in the keyring; it is refused, naming the
 * flags to add. The allowed-signers file decides what runs as root: no other user may write it.
 */
async function signatureTrust(values: GitValues): Promise<SignatureTrust | undefined> {
  const allowedSigners = values['git-allowed-signers'];
  const keys = values['git-trusted-key'];
  if (!values['git-verify-signatures']) {
    if (allowedSigners !== undefined || keys.length > 0)
      throw new UsageError(
        `--${allowedSigners !== undefined ? 'git-allowed-signers' : 'git-trusted-key'} needs --git-verify-signatures`,
      );
    return undefined;
  }
  if (allowedSigners === undefined && keys.length === 0)
    throw new UsageError(
      '--git-verify-signatures needs a trust list: --git-allowed-signers FILE (SSH keys, the allowed-signers format) or --git-trusted-key FINGERPRINT (GPG keys, repeatable)',
    );
  const trustedKeys = keys.map((key) => {
    const fingerprint = normalizeFingerprint(key);
    if (fingerprint === undefined)
      throw new UsageError(`--git-trusted-key "${key.slice(0, 80)}" is not a GPG fingerprint (40 or 64 hex digits)`);
    return fingerprint;
  });
  if (allowedSigners !== undefined) {
    const stats = await stat(allowedSigners).catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`--git-allowed-signers ${allowedSigners}: unreadable (${error.code ?? error.message})`);
    });
    if (!stats.isFile()) throw new UsageError(`--git-allowed-signers ${allowedSigners} is not a file`);
    const uid = process.getuid?.() ?? 0;
    if ((stats.uid !== 0 && stats.uid !== uid) || (stats.mode & 0o022) !== 0)
      throw new UsageError(
        `--git-allowed-signers ${allowedSigners}: other users may write it, and it decides what berth runs (chown it to berth's user and chmod go-w)`,
      );
  }
  return { ...(allowedSigners !== undefined ? { allowedSigners: resolve(allowedSigners) } : {}), trustedKeys };
}

/**
 * The repository: `--git URL`, or, for a URL with credentials (which `ps` would show every user on
 * the command line), the one URL of `--git-url-file FILE` (a secret file: 0600, berth's user's;
 * `#` comments) or `BERTH_GIT_URL`. The flags win over the environment.
 */
async function repositoryUrl(values: GitValues, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const file = values['git-url-file'];
  if (file !== undefined) {
    if (values.git !== undefined) throw new UsageError('give the repository once: --git URL or --git-url-file FILE');
    const urls = (await secretFileText('--git-url-file', file))
      .split(/\r?\n/)
      .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
      .filter(Boolean);
    if (urls.length !== 1 || /\s/.test(urls[0]!))
      throw new UsageError(
        `--git-url-file ${file} must hold one URL (it holds ${urls.length === 1 ? 'more than one word' : `${urls.length} lines`}; # starts a comment)`,
      );
    return urls[0];
  }
  const fromEnv = env.BERTH_GIT_URL?.trim();
  return values.git ?? (fromEnv ? fromEnv : undefined);
}
