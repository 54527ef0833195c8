/**
 * Orders certificates from an RFC 8555 directory with acme-client, answering HTTP-01 challenges
 * by files under the challenge root that the proxy serves at `/.well-known/acme-challenge/`.
 * One account per namespace; its key stays in the AcmeStore. Every failure is an AcmeError.
 *
 * The CA is not trusted with file names: a challenge token names a file only if it is base64url
 * (RFC 8555 section 8.1; `../../x` is not), and the file is written atomically (a temporary file
 * created exclusively, without following a link, renamed over the name: src/util/atomic-file.ts)
 * in a challenge directory checked from `/` down as berth's private directories are
 * (src/util/private-dir.ts) just before; only a file this order wrote is removed.
 */
import { Agent, get } from 'node:https';
import type { Stats } from 'node:fs';
import { chmod, lstat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { rootCertificates } from 'node:tls';
import * as acme from 'acme-client';
import { writeFileAtomically } from '../util/atomic-file.js';
import type { Logger } from '../util/logger.js';
import { ensurePrivateDirectory, UnsafeDirectoryError } from '../util/private-dir.js';
import { oneLine } from '../util/strip-control.js';
import type { AcmeStore } from './acme-store.js';
import { AcmeError } from './errors.js';

interface AcmeIssuerOptions {
  directoryUrl: string;
  email: string;
  /** PEM of a CA to trust beside the system's, for a private ACME server. */
  caPem?: string;
  /** Directory served at the site root of the plain listener for `.well-known/acme-challenge/`. */
  challengeRoot: string;
}

/** How long the CA may take to answer the directory request before it counts as unreachable. */
const DIRECTORY_TIMEOUT_MS = 10_000;
/** How long any one request of an order may take. */
const REQUEST_TIMEOUT_MS = 30_000;

export class AcmeIssuer {
  private readonly agent: Agent;
  private client: acme.Client | undefined;

  constructor(
    private readonly options: AcmeIssuerOptions,
    private readonly store: AcmeStore,
    private readonly logger: Logger,
  ) {
    this.agent = new Agent({ keepAlive: true, ...(options.caPem ? { ca: [...rootCertificates, options.caPem] } : {}) });
    acme.axios.defaults.httpsAgent = this.agent;
    acme.axios.defaults.timeout = REQUEST_TIMEOUT_MS;
    // berth retries on its own schedule (renewal.ts); acme-client only rides out a brief 5xx.
    const defaults = acme.axios.defaults as { acmeSettings?: Record<string, number> };
    defaults.acmeSettings = { ...defaults.acmeSettings, retryMaxAttempts: 2, retryDefaultDelay: 1 };
    acme.setLogger((message) => this.logger.debug({ source: 'acme' }, message));
  }

  /** A certificate for `domain`: its PEM chain and a new ECDSA P-256 key. */
  async issue(domain: string): Promise<{ certPem: string; keyPem: string }> {
    // Before the CA is asked anything: an order that could not be answered spends its rate limit.
    await this.challengeDirectory(domain);
    await this.directoryAnswers();
    /** The challenge files this order wrote, by token: the only ones it removes. */
    const written = new Map<string, string>();
    try {
      const client = await this.account();
      const [key, csr] = await acme.crypto.createCsr(
        { commonName: domain, altNames: [domain] },
        await acme.crypto.createPrivateEcdsaKey(),
      );
      const certPem = await client.auto({
        csr,
        email: this.options.email,
        termsOfServiceAgreed: true,
        challengePriority: ['http-01'],
        // The CA's own validation is the check: a self-check from this host proves little behind NAT.
        skipChallengeVerification: true,
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
          const problem = challengeTokenProblem(challenge.token);
          if (problem !== undefined) throw new AcmeError(`${domain}: ${problem}`, { reachable: true });
          const file = join(await this.challengeDirectory(domain), challenge.token);
          await writeChallengeFile(file, keyAuthorization, domain);
          written.set(challenge.token, file);
        },
        challengeRemoveFn: async (_authz, challenge) => {
          const file = written.get(challenge.token);
          if (file === undefined) return;
          written.delete(challenge.token);
          await unlink(file).catch(() => undefined);
        },
      });
      return { certPem, keyPem: key.toString() };
    } catch (error) {
      throw asAcmeError(error, this.options.directoryUrl, domain);
    }
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * The challenge directory's real path, checked from `/` down (private-dir.ts: no component
   * another user owns or may write, no link another user could have made) and made if missing.
   * nginx's workers, another user, read the files: berth's own directories from the challenge root
   * down are made searchable and readable by all (never writable).
   */
  private async challengeDirectory(domain: string): Promise<string> {
    const root = this.options.challengeRoot;
    const dir = join(root, '.well-known', 'acme-challenge');
    try {
      const real = await ensurePrivateDirectory(dir, { create: true });
      for (const path of [root, join(root, '.well-known'), real]) {
        const stats: Stats = await lstat(path);
        if (stats.isDirectory() && stats.uid === process.getuid?.() && (stats.mode & 0o055) !== 0o055)
          await chmod(path, (stats.mode & 0o7777) | 0o055);
      }
      return real;
    } catch (error) {
      if (error instanceof UnsafeDirectoryError)
        throw new AcmeError(`${domain}: refusing the challenge directory ${error.message}`, {
          reachable: true,
          cause: error,
        });
      throw new AcmeError(
        `${domain}: cannot prepare the challenge directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        { reachable: true, cause: error },
      );
    }
  }

  private async account(): Promise<acme.Client> {
    if (this.client) return this.client;
    const accountKey = await this.store.accountKey(() => acme.crypto.createPrivateEcdsaKey());
    const client = new acme.Client({ directoryUrl: this.options.directoryUrl, accountKey });
    await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${this.options.email}`] });
    this.client = client;
    return client;
  }

  /** Rejects with an unreachable AcmeError unless the directory answers 2xx. */
  private directoryAnswers(): Promise<void> {
    const url = this.options.directoryUrl;
    return new Promise((resolve, reject) => {
      const request = get(url, { agent: this.agent, timeout: DIRECTORY_TIMEOUT_MS }, (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve();
        else
          reject(
            new AcmeError(`the ACME directory ${url} answered HTTP ${status}`, {
              reachable: status < 500,
              ...retryAfterOf(response.headers['retry-after']),
            }),
          );
      });
      request.on('timeout', () => request.destroy(new Error(`no answer within ${DIRECTORY_TIMEOUT_MS / 1000} s`)));
      request.on('error', (error: NodeJS.ErrnoException) =>
        reject(
          new AcmeError(`cannot reach the ACME directory ${url}: ${error.code ?? error.message}`, {
            reachable: false,
            cause: error,
          }),
        ),
      );
    });
  }
}

/** A token names a file only if it is base64url (RFC 8555 section 8.1), and no longer than a file name may be. */
const TOKEN = /^[A-Za-z0-9_-]{1,255}$/;
/** How much of a refused token a message quotes. */
const QUOTED_TOKEN_CHARS = 40;

/**
 * Why the CA's challenge `token` cannot name a file, in one line quoting at most
 * QUOTED_TOKEN_CHARS characters of it (control characters stripped); undefined when it can.
 */
export function challengeTokenProblem(token: unknown): string | undefined {
  const refused = (what: string) => `the ACME server's challenge token ${what}: it names no file, nothing was written`;
  if (typeof token !== 'string') return refused(`is not a string (${token === null ? 'null' : typeof token})`);
  if (TOKEN.test(token)) return undefined;
  if (token === '') return refused('is empty');
  const shown = oneLine(token);
  const cut = [...shown].slice(0, QUOTED_TOKEN_CHARS).join('');
  const quoted = `${JSON.stringify(cut)}${cut === token ? '' : `... (${token.length} characters)`}`;
  return refused(
    /^[A-Za-z0-9_-]+$/.test(token)
      ? `${quoted} is longer than a file name may be (255 characters)`
      : `${quoted} is not base64url (only A-Z, a-z, 0-9, - and _)`,
  );
}

/**
 * Writes `content` to `file`, 0644 (nginx's workers read it), atomically (util/atomic-file.ts): a
 * file or link left at the name by an earlier attempt (a CA may hand out a pending authorization
 * again) is replaced, never written through.
 */
async function writeChallengeFile(file: string, content: string, domain: string): Promise<void> {
  try {
    await writeFileAtomically(file, content, 0o644);
  } catch (error) {
    throw new AcmeError(
      `${domain}: cannot write the challenge file in ${dirname(file)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { reachable: true, cause: error },
    );
  }
}

function retryAfterOf(header: string | undefined): { retryAfterSeconds?: number } {
  const seconds =
    header === undefined ? NaN : /^\d+$/.test(header) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
  return Number.isFinite(seconds) && seconds > 0 ? { retryAfterSeconds: Math.ceil(seconds) } : {};
}

/** How much of a CA's error message berth repeats. */
const MAX_CA_MESSAGE_CHARS = 500;

/** acme-client's failures in berth's words: a problem document's detail, or the CA stopped answering. */
function asAcmeError(error: unknown, directoryUrl: string, domain: string): AcmeError {
  if (error instanceof AcmeError) return error;
  const response = (error as { response?: { status?: number; headers?: Record<string, string> } }).response;
  const message = (error as Error).message ?? String(error);
  // acme-client turns a connection lost mid-order into a TypeError about an absent response.
  if (error instanceof TypeError && /reading 'config'|undefined/.test(message)) {
    return new AcmeError(`the ACME server ${directoryUrl} stopped answering while ordering ${domain}`, {
      reachable: false,
      cause: error,
    });
  }
  // The CA's words (a problem document's detail) reach logs, status and chat: one line, bounded.
  const line = oneLine(message.split('\n')[0] ?? '');
  return new AcmeError(
    `${domain}: ${line.length > MAX_CA_MESSAGE_CHARS ? `${line.slice(0, MAX_CA_MESSAGE_CHARS)}...` : line}`,
    { reachable: true, ...retryAfterOf(response?.headers?.['retry-after']), cause: error },
  );
}
