import type { TrafficRouter } from './types.js';

/** No proxy: traffic reaches containers through their published ports, so there is nothing to route. */
export const directTraffic: TrafficRouter = {
  route: async () => undefined,
  unroute: async () => undefined,
  isRouted: async () => true,
  hasRoute: async () => false,
  routed: async () => [],
  urls: (_app, endpoints) => directUrls(endpoints),
};

export function directUrls(endpoints: string[]): string[] {
  return endpoints.map((endpoint) => `http://${endpoint}`);
}
