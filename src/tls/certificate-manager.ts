/**
 * Keeps a certificate for every domain the proxy serves, off the reconcile path: orders one from
 * ACME once the domain's app is served (so the plain listener answers its challenge), renews it
 * before expiry, removes it with the app's last domain, and prefers the operator's own pairs from
 * --tls-cert-dir (reloaded when the directory changes). A failed order never touches what serves:
 * the domain stays on plain HTTP, or on its current certificate, and is retried with backoff.
 * `onChange` is called after a certificate appears, changes or goes, so the proxy is rewritten.
 */
import { watch, type FSWatcher } from 'chokidar';
import type { CertificateLookup } from '../proxy/types.js';
import type { EventSink } from '../events/types.js';
import type { CertificateRecord } from '../state/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { AcmeStore } from './acme-store.js';
import { AcmeError } from './errors.js';
import { readOwnCertificates } from './own-certificates.js';
import { renewAt, retryDelayMs } from './renewal.js';
import { lookup, type StoredCertificate } from './stored-certificate.js';

/** Orders one certificate; AcmeError when it cannot. */
interface CertificateIssuer {
  issue(domain: string): Promise<{ certPem: string; keyPem: string }>;
}

interface CertificateManagerDeps {
  clock: Clock;
  logger: Logger;
  /** Absent without --acme-directory: own certificates only. */
  issuer?: CertificateIssuer;
  store: AcmeStore;
  /** --tls-cert-dir, when given. */
  ownDir?: string;
  /** Every domain the proxy should serve now, with its app. */
  wanted: () => Map<string, string>;
  /** True once the proxy serves the app (its plain listener then answers the domain's challenges). */
  isServed: (app: string) => Promise<boolean>;
  /** Whether this berth may order now (leader election: only the lease's holder orders); absent: always. */
  mayOrder?: () => boolean;
  onChange: () => void;
  report: (records: CertificateRecord[]) => void;
  /** Where issued certificates and failed orders are said (timeline, notifications). */
  events?: EventSink;
}

/** How often the wanted domains and due renewals are looked at (in memory, unless an order is due). */
const TICK_MS = 1_000;
/** How long stop() waits for an order in flight. */
const STOP_WAIT_MS = 2_000;

interface DomainCondition {
  state: CertificateRecord['state'];
  since: number;
  failures: number;
  nextAttempt: number;
  error?: string;
}

export class CertificateManager implements CertificateLookup {
  private acme = new Map<string, StoredCertificate>();
  private own = new Map<string, StoredCertificate>();
  private readonly conditions = new Map<string, DomainCondition>();
  private cancelTick: (() => void) | undefined;
  private ticking: Promise<void> | undefined;
  private watcher: FSWatcher | undefined;
  private stopped = false;
  private ownProblems = new Set<string>();

  constructor(private readonly deps: CertificateManagerDeps) {}

  /** Loads what is on disk; certificateFor answers from it at once, before the first tick. */
  async load(): Promise<void> {
    this.acme = await this.deps.store.readAll();
    await this.reloadOwn(false);
  }

  start(): void {
    if (this.deps.ownDir !== undefined) {
      this.watcher = watch(this.deps.ownDir, {
        ignoreInitial: true,
        depth: 0,
        awaitWriteFinish: { stabilityThreshold: 200, pollInterval: 50 },
      });
      this.watcher.on('all', () => void this.reloadOwn(true));
    }
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTick?.();
    await this.watcher?.close();
    // An order in flight is abandoned after a moment: a slow CA never holds up a shutdown.
    await Promise.race([this.ticking, this.deps.clock.sleep(STOP_WAIT_MS)]);
  }

  certificateFor(domain: string): StoredCertificate | undefined {
    return lookup(this.own, domain) ?? this.acme.get(domain.toLowerCase());
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.cancelTick = this.deps.clock.schedule(() => {
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
        this.schedule(TICK_MS);
      });
    }, ms);
  }

  /** One look: drop what is no longer wanted, then order what is missing or due, one at a time. */
  private async tick(): Promise<void> {
    const { clock, store, logger } = this.deps;
    const wanted = this.deps.wanted();
    let changed = false;
    for (const domain of [...this.acme.keys()].filter((d) => !wanted.has(d))) {
      await store.remove(domain);
      this.acme.delete(domain);
      changed = true;
      logger.info({ source: 'tls', domain }, `Removed the certificate of ${domain}: no app serves it any more`);
    }
    for (const domain of [...this.conditions.keys()].filter((d) => !wanted.has(d))) this.conditions.delete(domain);
    if (changed) this.deps.onChange();

    for (const [domain, app] of wanted) {
      if (this.stopped) return;
      if (lookup(this.own, domain)) {
        this.condition(domain, 'own');
        continue;
      }
      const current = this.acme.get(domain);
      const due = current ? renewAt(current.notBefore, current.notAfter) : 0;
      if (current && clock.now() < due) {
        this.condition(domain, 'issued');
        continue;
      }
      const condition = this.conditions.get(domain) ?? this.condition(domain, current ? 'issued' : 'pending');
      if (!this.deps.issuer || clock.now() < condition.nextAttempt) continue;
      if (this.deps.mayOrder && !this.deps.mayOrder()) continue;
      if (!(await this.deps.isServed(app))) continue;
      await this.order(domain, app, current !== undefined);
    }
    this.deps.report(this.records(wanted));
  }

  private async order(domain: string, app: string, renewal: boolean): Promise<void> {
    const { clock, logger, store } = this.deps;
    const issuer = this.deps.issuer!;
    logger.info({ source: 'tls', domain, app }, `${renewal ? 'Renewing' : 'Ordering'} a certificate for ${domain}`);
    try {
      const { certPem, keyPem } = await issuer.issue(domain);
      const paths = await store.save(domain, certPem, keyPem);
      const stored = (await store.readAll()).get(domain);
      if (!stored || stored.certFile !== paths.certFile)
        throw new AcmeError(`${domain}: the certificate issued does not read back from ${paths.certFile}`, {
          reachable: true,
        });
      this.acme.set(domain, stored);
      const condition = this.condition(domain, 'issued');
      condition.failures = 0;
      condition.nextAttempt = 0;
      delete condition.error;
      logger.info(
        { source: 'tls', domain, app, issuer: stored.issuer, notAfter: new Date(stored.notAfter).toISOString() },
        `Certificate for ${domain} issued by ${stored.issuer}, valid until ${new Date(stored.notAfter).toISOString()}`,
      );
      this.deps.events?.emit({
        type: 'certificate.issued',
        app,
        message: `certificate for ${domain} ${renewal ? 'renewed' : 'issued'} by ${stored.issuer}, valid until ${new Date(stored.notAfter).toISOString()}`,
        details: { domain, issuer: stored.issuer, notAfter: new Date(stored.notAfter).toISOString(), renewal },
      });
      this.deps.onChange();
    } catch (error) {
      const acme =
        error instanceof AcmeError
          ? error
          : new AcmeError(`${domain}: ${(error as Error).message}`, { reachable: true, cause: error });
      const condition = this.conditions.get(domain) ?? this.condition(domain, 'failed');
      condition.failures += 1;
      const delay = retryDelayMs(condition.failures, acme.reachable, acme.retryAfterSeconds);
      condition.nextAttempt = clock.now() + delay;
      const repeated = condition.error === acme.message;
      condition.error = acme.message;
      if (!this.acme.has(domain)) this.condition(domain, 'failed');
      const line = `Certificate for ${domain} not ${renewal ? 'renewed' : 'issued'}: ${acme.message}; ${renewal ? 'the current one keeps serving' : 'it stays on plain HTTP'}, retrying in ${Math.round(delay / 1000)} s`;
      if (repeated) logger.debug({ source: 'tls', domain, app }, line);
      else {
        logger.warn({ source: 'tls', domain, app }, line);
        this.deps.events?.emit({
          type: 'certificate.failed',
          app,
          message: `certificate for ${domain} not ${renewal ? 'renewed' : 'issued'}: ${acme.message}`,
          details: { domain, reason: acme.message, renewal },
        });
      }
    }
  }

  private condition(domain: string, state: CertificateRecord['state']): DomainCondition {
    const existing = this.conditions.get(domain);
    if (existing) {
      if (existing.state !== state) {
        existing.state = state;
        existing.since = this.deps.clock.now();
      }
      return existing;
    }
    const created: DomainCondition = { state, since: this.deps.clock.now(), failures: 0, nextAttempt: 0 };
    this.conditions.set(domain, created);
    return created;
  }

  private records(wanted: Map<string, string>): CertificateRecord[] {
    return [...wanted].map(([domain, app]) => {
      const condition = this.conditions.get(domain);
      const certificate = this.certificateFor(domain);
      return {
        domain,
        app,
        state: condition?.state ?? 'pending',
        ...(certificate ? { issuer: certificate.issuer, notAfter: certificate.notAfter } : {}),
        ...(condition?.error !== undefined ? { error: condition.error } : {}),
        ...(condition && condition.nextAttempt > 0
          ? { nextAttempt: condition.nextAttempt }
          : certificate?.source === 'acme'
            ? { nextAttempt: renewAt(certificate.notBefore, certificate.notAfter) }
            : {}),
        since: condition?.since ?? this.deps.clock.now(),
      };
    });
  }

  private async reloadOwn(notify: boolean): Promise<void> {
    if (this.deps.ownDir === undefined) return;
    const { byName, problems } = await readOwnCertificates(this.deps.ownDir);
    for (const problem of problems.filter((p) => !this.ownProblems.has(p)))
      this.deps.logger.warn({ source: 'tls' }, `--tls-cert-dir: ${problem}; that pair is not used`);
    this.ownProblems = new Set(problems);
    const before = JSON.stringify([...this.own].map(([name, c]) => [name, c.fingerprint]));
    this.own = byName;
    if (notify && before !== JSON.stringify([...this.own].map(([name, c]) => [name, c.fingerprint])))
      this.deps.onChange();
  }
}
