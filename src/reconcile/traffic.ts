import type { App } from '../manifest/types.js';
import type { ContainerSummary } from '../runtime/types.js';
import { loopbackPort } from '../runtime/loopback.js';
import { revisionKey } from './revision.js';

/**
 * Where an app's traffic goes. berth calls `route` when a revision has passed its checks (the
 * switch) and after every reconcile that leaves the app running, so the proxy always matches
 * what serves; `unroute` when the app is gone. Both are idempotent and serialized by the
 * implementation. A proxy that refuses a config rejects with ProxyError and keeps the old one.
 */
export interface TrafficRouter {
  /** `endpoints` are `127.0.0.1:<port>` addresses of the app's serving containers. */
  route(app: App, endpoints: string[]): Promise<void>;
  unroute(name: string): Promise<void>;
  /**
   * True when `route(app, endpoints)` would change nothing: the resync's check that the proxy
   * still holds what berth put there (someone may have deleted or edited it). Reads only.
   */
  isRouted(app: App, endpoints: string[]): Promise<boolean>;
  /** Apps that currently have a route, so a restarted berth can clean up routes of vanished apps. */
  routed(): Promise<string[]>;
  /** Where people reach the app once routed to `endpoints` (the deploy's "Application deployed" line). */
  urls(app: App, endpoints: string[]): string[];
}

/** No proxy: traffic reaches containers through their published ports. */
export const directTraffic: TrafficRouter = {
  route: async () => undefined,
  unroute: async () => undefined,
  isRouted: async () => true,
  routed: async () => [],
  urls: (_app, endpoints) => directUrls(endpoints),
};

export function directUrls(endpoints: string[]): string[] {
  return endpoints.map((endpoint) => `http://${endpoint}`);
}

/** `127.0.0.1:<port>` of each running container of `revision` publishing the app's first TCP port: where its traffic goes. */
export function servingEndpoints(app: App, revision: string, containers: readonly ContainerSummary[]): string[] {
  const port = app.spec.ports.find((p) => p.protocol === 'tcp')?.container;
  return containers
    .filter((c) => c.state === 'running' && revisionKey(c) === revision)
    .map((c) => (port === undefined ? undefined : loopbackPort(c.ports, port)))
    .filter((hostPort) => hostPort !== undefined)
    .map((hostPort) => `127.0.0.1:${hostPort}`);
}
