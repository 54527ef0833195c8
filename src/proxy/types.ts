/**
 * Where an app's traffic goes: the contract between reconcile and a proxy, as runtime/types.ts
 * is between reconcile and an engine. Every change is idempotent and serialized by the
 * implementation. A proxy that refuses a configuration rejects with ProxyError (errors.ts) and
 * keeps the previous one in place.
 */
import type { App } from '../manifest/types.js';

/**
 * A share of the app's requests sent to the canary's containers: `endpoints` (the new revision's
 * `127.0.0.1:<port>` addresses) together get `percent` of the requests, an integer 1-99, and the
 * route's `endpoints` (the stable revision) the rest.
 */
export interface CanarySplit {
  endpoints: readonly string[];
  percent: number;
}

/**
 * Where the proxy sends one line per request it passes upstream: a syslog listener on
 * `address` (`127.0.0.1:<port>`), each line starting with `token` (16-128 of `[A-Za-z0-9_-]`),
 * which a reader checks before trusting the line (any local user can send to a loopback UDP
 * port). The token is a secret: never logged.
 */
export interface AccessLogTarget {
  address: string;
  token: string;
}

/** What a route carries beside its endpoints. Every field absent: a plain balanced route. */
export interface RouteExtras {
  /**
   * The previous revision's containers while deploy.monitor watches the new one: they take a
   * request only when every endpoint failed it before it was sent (a connection refused) or
   * answered 502/503, so a crash of the new revision costs no request.
   */
  backups?: readonly string[];
  /** A weighted split between the route's endpoints (the stable revision) and a canary's. */
  canary?: CanarySplit;
  /** The machine-readable access log the canary is judged on. */
  accessLog?: AccessLogTarget;
}

export interface TrafficRouter {
  /**
   * Points the app's traffic at `endpoints`, the `127.0.0.1:<port>` addresses of its serving
   * containers, with `extras` (backups, a canary split, an access log). A proxy without those
   * features ignores them.
   */
  route(app: App, endpoints: string[], extras?: RouteExtras): Promise<void>;
  /** Removes the app's route. */
  unroute(name: string): Promise<void>;
  /**
   * True when `route(app, endpoints, extras)` would change nothing: the proxy still holds what
   * berth put there (someone may have deleted or edited it). Reads only.
   */
  isRouted(app: App, endpoints: string[], extras?: RouteExtras): Promise<boolean>;
  /** True when the proxy holds any route of the app. Reads only. */
  hasRoute(name: string): Promise<boolean>;
  /** Apps that currently have a route. Reads only. */
  routed(): Promise<string[]>;
  /**
   * How long after a route change requests the proxy took before it may still reach the targets it
   * left (nginx's old workers finish theirs): what a rollback waits before it stops the containers
   * it moved traffic off. Undefined: nothing to wait for.
   */
  readonly drainMs?: number;
  /** Where people reach the app once routed to `endpoints` (the deploy's "Application deployed" line). */
  urls(app: App, endpoints: string[]): string[];
}

/** A certificate and key nginx serves for a domain; `fingerprint` changes whenever the pair does. */
export interface ServedCertificate {
  certFile: string;
  keyFile: string;
  fingerprint: string;
}

/** Which certificate, if any, serves a domain now. Reads memory only. */
export interface CertificateLookup {
  certificateFor(domain: string): ServedCertificate | undefined;
}

/** HTTPS at the proxy: where it listens, where ACME challenge files are, whose certificates. */
export interface ProxyTls {
  /** nginx `listen` value of the TLS listener (`443`, `127.0.0.1:8443`). */
  listen: string;
  /** Directory holding `.well-known/acme-challenge/<token>`, served on the plain listener; none without ACME. */
  challengeRoot?: string;
  certificates: CertificateLookup;
}
