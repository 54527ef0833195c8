/**
 * The system `git` (as Argo CD uses it): SSH keys, known_hosts, credential helpers and
 * GIT_SSH_COMMAND work as they do for the user. Every failure is a GitError whose message is
 * git's own last line, credentials taken out.
 */
import { execFile } from 'node:child_process';
import { redactCredentials } from './redact-url.js';

export class GitError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GitError';
  }
}

/** How long one git command may take before it counts as failed. */
const GIT_TIMEOUT_MS = 120_000;

export function runGit(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; url?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      {
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        // Never wait for a password on a terminal: a refused credential is an error, not a prompt.
        env: { ...process.env, ...options.env, GIT_TERMINAL_PROMPT: '0' },
        timeout: options.timeoutMs ?? GIT_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const lines = stderr.trim().split('\n').filter((l) => l.trim() !== '' && !/^hint:/.test(l));
        // git's reason starts at its first fatal/error line and may go on over the next ones.
        const first = lines.findIndex((l) => /^(fatal|error):/.test(l));
        const reason = (first >= 0 ? lines.slice(first) : lines.slice(-1)).map((l) => l.trim()).join(' ');
        const said = reason !== '' ? reason : (error as { killed?: boolean }).killed ? `no answer within ${(options.timeoutMs ?? GIT_TIMEOUT_MS) / 1000} s` : error.message;
        const message = options.url ? redactCredentials(said, options.url) : said;
        reject(new GitError(message.replace(/^(fatal|error): /, ''), { cause: error }));
      },
    );
  });
}
