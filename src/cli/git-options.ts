import { readFile } from 'node:fs/promises';
import { positiveInteger } from './options.js';
import { UsageError } from './usage.js';

/** The flags that make `run` (and `plan`) follow a git repository instead of a directory. */
export const GIT_FLAGS = {
  git: { type: 'string' },
  'git-branch': { type: 'string', default: 'main' },
  'git-path': { type: 'string', default: '' },
  'git-interval': { type: 'string', default: '60' },
  'git-webhook-secret-file': { type: 'string' },
  'git-verify-signatures': { type: 'boolean', default: false },
} as const;

export interface GitValues {
  git?: string | undefined;
  'git-branch': string;
  'git-path': string;
  'git-interval': string;
  'git-webhook-secret-file'?: string | undefined;
  'git-verify-signatures': boolean;
}

export interface GitSettings {
  url: string;
  branch: string;
  path: string;
  intervalSeconds: number;
  webhookSecret?: string;
  verifySignatures: boolean;
}

/** What the git flags ask for: undefined without --git. */
export async function gitSettings(values: GitValues): Promise<GitSettings | undefined> {
  const url = values.git;
  if (url === undefined) {
    if (values['git-webhook-secret-file'] !== undefined) throw new UsageError('--git-webhook-secret-file needs --git');
    return undefined;
  }
  if (url.startsWith('-') || url.trim() === '') throw new UsageError(`--git "${url}" is not a repository URL`);
  const branch = values['git-branch'];
  if (!/^[A-Za-z0-9._/-]+$/.test(branch) || branch.startsWith('-') || branch.includes('..')) throw new UsageError(`--git-branch "${branch}" is not a branch name`);
  const path = values['git-path'].replace(/^\/+|\/+$/g, '');
  if (path.split('/').includes('..')) throw new UsageError(`--git-path "${values['git-path']}" leaves the repository`);
  const intervalSeconds = positiveInteger(values as unknown as Record<string, unknown>, 'git-interval');
  let webhookSecret: string | undefined;
  const secretFile = values['git-webhook-secret-file'];
  if (secretFile !== undefined) {
    webhookSecret = (await readFile(secretFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`--git-webhook-secret-file ${secretFile}: unreadable (${error.code ?? error.message})`);
    })).trim();
    if (webhookSecret === '') throw new UsageError(`--git-webhook-secret-file ${secretFile} is empty`);
  }
  return { url, branch, path, intervalSeconds, ...(webhookSecret !== undefined ? { webhookSecret } : {}), verifySignatures: values['git-verify-signatures'] };
}
