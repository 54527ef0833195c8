/**
 * Orders certificates from an RFC 8555 directory with acme-client, answering HTTP-01 challenges
 * by files under the challenge root that the proxy serves at `/.well-known/acme-challenge/`.
 * One account per namespace; its key stays in the AcmeStore. Every failure is an AcmeError.
 */
import { Agent, get } from 'node:https';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import * as acme from 'acme-client';
import type { Logger } from '../util/logger.js';
import type { AcmeStore } from './acme-store.js';
import { AcmeError } from './errors.js';

export interface AcmeIssuerOptions {
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
    await this.directoryAnswers();
    try {
      const client = await this.account();
      const [key, csr] = await acme.crypto.createCsr({ commonName: domain, altNames: [domain] }, await acme.crypto.createPrivateEcdsaKey());
      const certPem = await client.auto({
        csr,
        email: this.options.email,
        termsOfServiceAgreed: true,
        challengePriority: ['http-01'],
        // The CA's own validation is the check: a self-check from this host proves little behind NAT.
        skipChallengeVerification: true,
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
          await mkdir(this.challengeDir(), { recursive: true, mode: 0o755 });
          await writeFile(join(this.challengeDir(), challenge.token), keyAuthorization, { mode: 0o644 });
        },
        challengeRemoveFn: async (_authz, challenge) => {
          await rm(join(this.challengeDir(), challenge.token), { force: true });
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

  private challengeDir(): string {
    return join(this.options.challengeRoot, '.well-known', 'acme-challenge');
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
        else reject(new AcmeError(`the ACME directory ${url} answered HTTP ${status}`, { reachable: status < 500, ...retryAfterOf(response.headers['retry-after']) }));
      });
      request.on('timeout', () => request.destroy(new Error(`no answer within ${DIRECTORY_TIMEOUT_MS / 1000} s`)));
      request.on('error', (error: NodeJS.ErrnoException) => reject(new AcmeError(`cannot reach the ACME directory ${url}: ${error.code ?? error.message}`, { reachable: false, cause: error })));
    });
  }
}

function retryAfterOf(header: string | undefined): { retryAfterSeconds?: number } {
  const seconds = header === undefined ? NaN : /^\d+$/.test(header) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
  return Number.isFinite(seconds) && seconds > 0 ? { retryAfterSeconds: Math.ceil(seconds) } : {};
}

/** acme-client's failures in berth's words: a problem document's detail, or the CA stopped answering. */
function asAcmeError(error: unknown, directoryUrl: string, domain: string): AcmeError {
  if (error instanceof AcmeError) return error;
  const response = (error as { response?: { status?: number; headers?: Record<string, string> } }).response;
  const message = (error as Error).message ?? String(error);
  // acme-client turns a connection lost mid-order into a TypeError about an absent response.
  if (error instanceof TypeError && /reading 'config'|undefined/.test(message)) {
    return new AcmeError(`the ACME server ${directoryUrl} stopped answering while ordering ${domain}`, { reachable: false, cause: error });
  }
  return new AcmeError(`${domain}: ${message.split('\n')[0]}`, { reachable: true, ...retryAfterOf(response?.headers?.['retry-after']), cause: error });
}
