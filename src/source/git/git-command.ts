/**
 * The system `git` (as Argo CD uses it): SSH keys, known_hosts, credential helpers and
 * GIT_SSH_COMMAND work as they do for the user. Every failure is a GitError whose message is
 * git's own last line, credentials taken out.
 *
 * The password of an http(s) URL (`https://oauth2:TOKEN@host/...`) never reaches a command line,
 * where `ps` shows it to every user (git passes the URL on to `git-remote-https`): git is given the
 * URL without it, and a credential helper of berth's answers it from the environment (readable by
 * berth's user only), in place of any other helper.
 *
 * A command that talks to a remote (`url` given) runs under `prlimit --fsize`: no file it writes (a
 * fetched pack: `fetch.unpackLimit=1` keeps every fetch one pack) may pass `maxFileBytes`, so a
 * hostile remote cannot fill the disk; past it git's write fails (EFBIG) and the GitError says so
 * (`tooLarge`). git leaves the cut pack behind as `objects/pack/tmp_pack_*`: the caller removes it.
 */
import { execFile } from 'node:child_process';
import { redactCredentials, redactUrl, splitPassword } from './redact-url.js';

export class GitError extends Error {
  /** The remote sent a file over the fetch's bound (maxFileBytes): asking again would only fetch it again. */
  readonly tooLarge: boolean;
  constructor(message: string, options?: { cause?: unknown; tooLarge?: boolean }) {
    super(message, options);
    this.name = 'GitError';
    this.tooLarge = options?.tooLarge ?? false;
  }
}

/** How long one git command may take before it counts as failed. */
const GIT_TIMEOUT_MS = 120_000;

/** The largest file a command talking to a remote may write, unless the caller says otherwise. */
export const GIT_MAX_FILE_BYTES = 1024 * 1024 * 1024;

/** Answers git's `get` with the username and password berth put in the helper's environment. */
const CREDENTIAL_HELPER = `!f() { test "$1" = get && printf 'username=%s\\npassword=%s\\n' "$BERTH_GIT_USERNAME" "$BERTH_GIT_PASSWORD"; }; f`;

export function runGit(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; url?: string; timeoutMs?: number; maxFileBytes?: number } = {},
): Promise<string> {
  const credentials = options.url !== undefined ? splitPassword(options.url) : undefined;
  const gitArgs = credentials
    ? [
        '-c',
        'credential.helper=',
        '-c',
        `credential.helper=${CREDENTIAL_HELPER}`,
        ...args.map((arg) => (arg === options.url ? credentials.url : arg)),
      ]
    : args;
  const maxFileBytes = options.url !== undefined ? (options.maxFileBytes ?? GIT_MAX_FILE_BYTES) : undefined;
  // SIGXFSZ ignored (an ignored signal stays ignored across exec): a write past the bound fails
  // with EFBIG, which git reports as "File too large", instead of killing index-pack unheard.
  const [command, argv] =
    maxFileBytes !== undefined
      ? [
          '/bin/sh',
          [
            '-c',
            'trap "" XFSZ; exec prlimit --fsize="$0" -- git -c fetch.unpackLimit=1 "$@"',
            String(maxFileBytes),
            ...gitArgs,
          ],
        ]
      : ['git', gitArgs];
  return new Promise((resolve, reject) => {
    execFile(
      command,
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
        const tooLarge = maxFileBytes !== undefined && /File too large/.test(stderr);
        const said = tooLarge
          ? `the remote sent more than ${formatMiB(maxFileBytes)} in one file (berth's bound for a fetch): refused`
          : reason !== ''
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
        reject(new GitError(message.replace(/^(fatal|error): /, ''), { cause: error, tooLarge }));
      },
    );
  });
}

/** `512 MiB`, `1.5 MiB`. */
export function formatMiB(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB`;
}
