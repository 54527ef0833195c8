/**
 * The system `git` (as Argo CD uses it): SSH keys, known_hosts, credential helpers and
 * GIT_SSH_COMMAND work as they do for the user. Every failure is a GitError whose message is
 * git's own last line, credentials taken out.
 *
 * The password of an http(s) URL (`https://oauth2:TOKEN@host/...`) never reaches a command line,
 * where `ps` shows it to every user (git passes the URL on to `git-remote-https`): git is given the
 * URL without it, and a credential helper of berth's answers it from the environment (readable by
 * berth's user only), in place of any other helper.
 */
import { execFile } from 'node:child_process';
import { redactCredentials, redactUrl, splitPassword } from './redact-url.js';

export class GitError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GitError';
  }
}

/** How long one git command may take before it counts as failed. */
const GIT_TIMEOUT_MS = 120_000;

/** Answers git's `get` with the username and password berth put in the helper's environment. */
const CREDENTIAL_HELPER = `!f() { test "$1" = get && printf 'username=%s\\npassword=%s\\n' "$BERTH_GIT_USERNAME" "$BERTH_GIT_PASSWORD"; }; f`;

export function runGit(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; url?: string; timeoutMs?: number } = {},
): Promise<string> {
  const credentials = options.url !== undefined ? splitPassword(options.url) : undefined;
  const argv = credentials
    ? [
        '-c',
        'credential.helper=',
        '-c',
        `credential.helper=${CREDENTIAL_HELPER}`,
        ...args.map((arg) => (arg === options.url ? credentials.url : arg)),
      ]
    : args;
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      argv,
      {
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        // Never wait for a password on a terminal: a refused credential is an error, not a prompt.
        env: {
          ...process.env,
          ...options.env,
          GIT_TERMINAL_PROMPT: '0',
          ...(credentials
            ? { BERTH_GIT_USERNAME: credentials.username, BERTH_GIT_PASSWORD: credentials.password }
            : {}),
        },
        timeout: options.timeoutMs ?? GIT_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const lines = stderr
          .trim()
          .split('\n')
          .filter((l) => l.trim() !== '' && !/^hint:/.test(l));
        // git's reason starts at its first fatal/error line and may go on over the next ones.
        const first = lines.findIndex((l) => /^(fatal|error):/.test(l));
        const reason = (first >= 0 ? lines.slice(first) : lines.slice(-1)).map((l) => l.trim()).join(' ');
        const said =
          reason !== ''
            ? reason
            : (error as { killed?: boolean }).killed
              ? `no answer within ${(options.timeoutMs ?? GIT_TIMEOUT_MS) / 1000} s`
              : error.message;
        const message = options.url
          ? redactCredentials(
              credentials ? said.split(credentials.url).join(redactUrl(options.url)) : said,
              options.url,
            )
          : said;
        reject(new GitError(message.replace(/^(fatal|error): /, ''), { cause: error }));
      },
    );
  });
}
