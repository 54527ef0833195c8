/** `--listen HOST:PORT`, parsed apart from the server so that parsing never loads fastify. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** `HOST:PORT` or `[V6]:PORT`; undefined for anything else. */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) return undefined;
  return { host: match[1] ?? match[2] ?? '', port };
}

/** `HOST:PORT`, brackets around an IPv6 host. */
export function formatListenAddress(address: ListenAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** What one client, or many, can make `--listen` hold or do (the server applies them; parsing them loads no fastify). */
export interface ListenLimits {
  /** Host names (besides --listen's own, `localhost` on loopback, and IP literals) the page, /api, /events and /metrics answer. */
  hosts: string[];
  /** Open connections at most; one more is closed at once. */
  maxConnections: number;
  /** Requests a minute per client address (an IPv6 /64), in bursts as large; 429 with Retry-After beyond. */
  ratePerMinute: number;
  /** A connection's request headers must have arrived within this (408 and closed otherwise): slow and silent clients let go. */
  headerTimeoutMs: number;
  /** The whole request, body included, within this. */
  requestTimeoutMs: number;
  /** An idle connection between requests is closed after this. */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_LISTEN_LIMITS: ListenLimits = {
  hosts: [],
  maxConnections: 256,
  ratePerMinute: 600,
  headerTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
};
