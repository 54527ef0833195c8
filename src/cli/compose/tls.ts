/**
 * HTTPS at the proxy, composed: for `run`, the certificate manager (ACME orders, renewals, the
 * operator's own pairs), loaded only with --acme-directory or --tls-cert-dir (acme-client is
 * heavy); for `plan`, the certificates on disk, never ordered or watched. Either is the lookup the
 * nginx router serves certificates from, so it is made before the router.
 */
import type { EventSink } from '../../events/types.js';
import type { CertificateLookup, ProxyTls } from '../../proxy/types.js';
import type { CertificateRecord } from '../../state/types.js';
import { systemClock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { TlsSettings } from '../proxy-options.js';

/**
 * What the manager certifies and whom it tells, given once every part exists (at start): the
 * manager calls none of these before start().
 */
export interface CertificateDuties {
  /** Every domain the proxy should serve now, with its app. */
  wanted(): Map<string, string>;
  /** True once the proxy serves the app (its plain listener then answers the domain's challenges). */
  isServed(app: string): Promise<boolean>;
  /** A certificate appeared, changed or went: the proxy is to be rewritten. */
  onChange(): void;
  /** The domains' certificates, for the state file (status, metrics). */
  report(records: CertificateRecord[]): void;
  /** Where issued certificates and failed orders are said (timeline, notifications). */
  events: EventSink;
  /** Whether this berth may order and renew now (on Swarm, only the lease's holder does); absent: always. */
  mayOrder?(): boolean;
}

/** The certificate manager of `run`, made before the router that serves from it. */
export interface ManagedCertificates {
  /** What the router serves: answers from memory, from load() on. */
  readonly lookup: CertificateLookup;
  /** Reads what is on disk, before any route is written. */
  load(): Promise<void>;
  /** Orders, renews and watches from now on, doing `duties`. */
  start(duties: CertificateDuties): void;
  /** Abandons an order in flight after a moment: a slow CA never holds up a shutdown. */
  stop(): Promise<void>;
}

/**
 * The certificate manager for `tls`, its ACME account and certificates under the namespace's
 * state directory; an issuer only with --acme-directory (else the operator's own pairs only).
 */
export async function managedCertificates(
  tls: TlsSettings,
  shared: { stateDir: string; namespace: string },
  logger: Logger,
): Promise<ManagedCertificates> {
  const [{ CertificateManager }, { AcmeStore }, { AcmeIssuer }] = await Promise.all([
    import('../../tls/certificate-manager.js'),
    import('../../tls/acme-store.js'),
    import('../../tls/acme-issuer.js'),
  ]);
  const store = new AcmeStore(shared.stateDir, shared.namespace);
  const issuer =
    tls.acme && tls.challengeRoot !== undefined
      ? new AcmeIssuer({ ...tls.acme, challengeRoot: tls.challengeRoot }, store, logger.child({ source: 'acme' }))
      : undefined;
  let duties: CertificateDuties | undefined;
  const manager = new CertificateManager({
    clock: systemClock,
    logger,
    store,
    ...(issuer ? { issuer } : {}),
    ...(tls.ownDir !== undefined ? { ownDir: tls.ownDir } : {}),
    wanted: () => duties?.wanted() ?? new Map(),
    isServed: async (app) => (await duties?.isServed(app)) ?? false,
    mayOrder: () => duties?.mayOrder?.() ?? true,
    onChange: () => duties?.onChange(),
    report: (records) => duties?.report(records),
    events: { emit: (event) => duties?.events.emit(event) },
  });
  return {
    lookup: manager,
    load: () => manager.load(),
    start: (given) => {
      duties = given;
      manager.start();
    },
    stop: () => manager.stop(),
  };
}

/** The certificates `run` would serve now (those on disk; `plan` orders none), for judging routes as `run` would. */
export async function storedCertificates(
  tls: TlsSettings,
  shared: { stateDir: string; namespace: string },
): Promise<CertificateLookup> {
  const { certificatesOnDisk } = await import('../../tls/certificates-on-disk.js');
  return certificatesOnDisk(shared.stateDir, shared.namespace, tls.ownDir);
}

/** The router's HTTPS: where it listens and answers challenges, and the certificates it serves. */
export function proxyTls(tls: TlsSettings, certificates: CertificateLookup): ProxyTls {
  return {
    listen: tls.listen,
    ...(tls.challengeRoot !== undefined ? { challengeRoot: tls.challengeRoot } : {}),
    certificates,
  };
}
