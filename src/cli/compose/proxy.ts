/**
 * The proxy in front of the apps, composed from its checked flags: the traffic router (nginx, or
 * none) and, with HTTPS, the certificates it serves. What only nginx does (renaming the blocks of
 * the previous naming, the domains certificates are ordered for) stays here, behind typed
 * members: no caller asks which router it holds.
 */
import type { DesiredState } from '../../controller/desired-state.js';
import type { EventSink } from '../../events/types.js';
import { directTraffic } from '../../proxy/direct.js';
import { NginxRouter } from '../../proxy/nginx-router.js';
import type { CertificateLookup, TrafficRouter } from '../../proxy/types.js';
import type { StateStore } from '../../state/store.js';
import type { Logger } from '../../util/logger.js';
import type { Clock } from '../../util/clock.js';
import { AccessLogCollector } from '../../proxy/access-log/collector.js';
import type { CanaryTraffic } from '../../proxy/access-log/canary-traffic.js';
import { silentLogger } from '../../util/silent-logger.js';
import type { ProxySettings } from '../proxy-options.js';
import { managedCertificates, proxyTls, storedCertificates } from './tls.js';

/** The router and what a reconciler is told about it. */
export interface ComposedProxy {
  router: TrafficRouter;
  /** True behind a proxy: apps are reached through their routes, not their published ports. */
  proxied: boolean;
  /** nginx's access log as `run` reads it (with --proxy nginx): what canaries are judged on. Never in `plan`. */
  canary?: CanaryTraffic;
}

/** What `run`'s parts give the certificate manager once they exist (see CertificateDuties). */
export interface CertifyingParts {
  /** The apps whose domains are certified: those with a manifest. */
  desired: Pick<DesiredState, 'names' | 'get'>;
  state: Pick<StateStore, 'setCertificates'>;
  events: EventSink;
  /** A certificate appeared, changed or went: the apps are to be reconciled, so their blocks are rewritten. */
  onChange(): void;
  /** On Swarm with leader election: whether this berth leads (only the leader orders and renews). */
  mayOrder?(): boolean;
}

/** The proxy `run` serves through. */
export interface ServingProxy extends ComposedProxy {
  /**
   * At start, before anything is judged on the routes (one berth per namespace: its lock is held):
   * nginx's blocks of the previous naming become this version's. Nothing without nginx.
   */
  migrate(): Promise<void>;
  /** Lets go of what the proxy holds open (the access log's socket); once the controller has stopped. */
  stop(): Promise<void>;
  /** With --acme-directory or --tls-cert-dir: load() before any route is written, start() once the controller runs. */
  certificates?: {
    load(): Promise<void>;
    start(parts: CertifyingParts): void;
    stop(): Promise<void>;
  };
}

/**
 * The proxy of `run`: with HTTPS, the certificate manager first, then the nginx router serving
 * from it; with nginx, the access-log collector canaries are judged on, listening on 127.0.0.1.
 */
export async function servingProxy(
  settings: ProxySettings,
  shared: { stateDir: string; namespace: string },
  logger: Logger,
  clock: Clock,
): Promise<ServingProxy> {
  const certificates = settings.tls ? await managedCertificates(settings.tls, shared, logger) : undefined;
  const nginx = nginxRouter(settings, logger, certificates?.lookup);
  if (!nginx)
    return { router: directTraffic, proxied: false, migrate: async () => undefined, stop: async () => undefined };
  const collector = new AccessLogCollector({ clock, logger: logger.child({ component: 'access-log' }) });
  const target = await collector.start();
  const startedAt = clock.now();
  return {
    router: nginx,
    proxied: true,
    canary: { target, startedAt, stats: (addresses, since) => collector.stats(addresses, since) },
    stop: () => collector.close(),
    migrate: () => nginx.migrate(),
    ...(certificates
      ? {
          certificates: {
            load: () => certificates.load(),
            start: (parts) =>
              certificates.start({
                wanted: () => wantedDomains(parts.desired, nginx),
                isServed: (app) => nginx.hasRoute(app),
                onChange: () => parts.onChange(),
                report: (records) => parts.state.setCertificates(records),
                events: parts.events,
                ...(parts.mayOrder ? { mayOrder: () => parts.mayOrder!() } : {}),
              }),
            stop: () => certificates.stop(),
          },
        }
      : {}),
  };
}

/** The proxy as `plan` judges routes: as `run` would write them, with the certificates on disk; it logs nothing. */
export async function plannedProxy(
  settings: ProxySettings,
  shared: { stateDir: string; namespace: string },
): Promise<ComposedProxy> {
  const certificates = settings.tls ? await storedCertificates(settings.tls, shared) : undefined;
  const nginx = nginxRouter(settings, silentLogger(), certificates);
  return nginx ? { router: nginx, proxied: true } : { router: directTraffic, proxied: false };
}

/** The nginx router the settings ask for, serving HTTPS from `certificates` when they are given; undefined without --proxy nginx. */
function nginxRouter(
  settings: ProxySettings,
  logger: Logger,
  certificates: CertificateLookup | undefined,
): NginxRouter | undefined {
  if (!settings.nginx) return undefined;
  const tls = settings.tls && certificates ? proxyTls(settings.tls, certificates) : undefined;
  return new NginxRouter({ ...settings.nginx, ...(tls ? { tls } : {}) }, logger);
}

/**
 * Every domain nginx serves for an app with a manifest, with its app. A domain another server
 * block holds is not this app's to certify: the holder answers its challenges.
 */
export function wantedDomains(
  desired: Pick<DesiredState, 'names' | 'get'>,
  nginx: Pick<NginxRouter, 'domainsOf' | 'refusedDomains'>,
): Map<string, string> {
  const wanted = new Map<string, string>();
  for (const name of desired.names()) {
    const app = desired.get(name);
    if (app.kind !== 'present') continue;
    const refused = nginx.refusedDomains(name);
    for (const domain of nginx.domainsOf(app.app)) if (!refused.includes(domain)) wanted.set(domain, name);
  }
  return wanted;
}
