/**
 * What `--listen` checks before a route runs: the `Host` a request names (against DNS
 * rebinding) and how often its client asks (a token bucket per client address). Pure but for
 * the clock; the server (server.ts) decides which routes each applies to.
 */
import { isIP } from 'node:net';
import type { Clock } from '../util/clock.js';
import type { ListenAddress } from './listen-address.js';

/** A DNS name as `--listen-host` takes it: labels of letters, digits and '-', dot-separated. */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** `NAME` as `--listen-host` spells it, lowercased; undefined when it is no host name (a port, a path, a wildcard). */
export function normalizeHostName(text: string): string | undefined {
  const name = text.trim().toLowerCase().replace(/\.$/, '');
  if (isIP(name) !== 0) return name;
  return HOST_NAME.test(name) ? name : undefined;
}

/**
 * The host name of a `Host` header, lowercased, without its port, brackets or a trailing dot:
 * `Example.COM.:9090` -> `example.com`, `[::1]:9090` -> `::1`. Undefined when it is malformed.
 */
export function hostOfHeader(header: string): string | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/@\s]+))(?::(\d{1,5}))?$/.exec(header.trim());
  if (!match) return undefined;
  if (match[1] !== undefined) return isIP(match[1]) === 6 ? match[1].toLowerCase() : undefined;
  return (match[2] ?? '').toLowerCase().replace(/\.$/, '') || undefined;
}

/** 127.0.0.0/8, ::1, `localhost` (and its IPv4-mapped forms). */
function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^(?:::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function isWildcard(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}

/**
 * The names the page, `/api`, `/events` and `/metrics` answer to: `--listen`'s own host, any IP
 * address literal, `localhost` when `--listen` is a loopback or wildcard address, and each
 * `--listen-host`. The port is not compared (an SSH tunnel or a reverse proxy changes it; a
 * rebinding attack does not need to): the name is what a DNS rebinding cannot forge, since the
 * browser sends the attacker's own name. An IP literal cannot be rebound; a request without
 * `Host` (HTTP/1.0) comes from no browser.
 */
export class HostAllowList {
  private readonly names: Set<string>;

  constructor(listen: ListenAddress, extra: readonly string[] = []) {
    const own = listen.host
      .toLowerCase()
      .replace(/^\[|\]$/g, '')
      .replace(/\.$/, '');
    this.names = new Set(
      [own, ...extra.map((name) => name.toLowerCase().replace(/\.$/, ''))].filter((name) => name !== ''),
    );
    if (isLoopback(own) || isWildcard(own)) this.names.add('localhost');
  }

  /** Every name allowed besides IP literals, for messages. */
  list(): string[] {
    return [...this.names].sort();
  }

  allows(header: string | undefined): boolean {
    if (header === undefined) return true;
    const host = hostOfHeader(header);
    if (host === undefined) return false;
    return isIP(host) !== 0 || this.names.has(host);
  }
}

/**
 * The bucket a client address draws from: an IPv4 address (an IPv4-mapped IPv6 one unwrapped),
 * or the /64 an IPv6 address belongs to (one host often holds a whole /64).
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

type RateVerdict = { ok: true } | { ok: false; retryAfterSeconds: number };

/** How many client addresses are remembered at most: the least recently seen is forgotten first. */
const MAX_CLIENTS = 10_000;

/**
 * `perMinute` requests a minute per client, in bursts of up to `perMinute`: a token bucket per
 * client key that holds `perMinute` tokens and gains one every 60/perMinute s. A bucket that
 * would be full again is the same as no bucket, so forgetting one is never unfair to its client.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly msPerToken: number;

  constructor(
    readonly perMinute: number,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly maxClients = MAX_CLIENTS,
  ) {
    this.msPerToken = 60_000 / perMinute;
  }

  get size(): number {
    return this.buckets.size;
  }

  take(key: string): RateVerdict {
    const now = this.clock.now();
    const bucket = this.buckets.get(key);
    const tokens =
      bucket === undefined
        ? this.perMinute
        : Math.min(this.perMinute, bucket.tokens + (now - bucket.at) / this.msPerToken);
    // Re-inserted: the map's order is the order clients were last seen in.
    this.buckets.delete(key);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now });
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(((1 - tokens) * this.msPerToken) / 1000)) };
    }
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    if (this.buckets.size > this.maxClients) this.buckets.delete(this.buckets.keys().next().value as string);
    return { ok: true };
  }
}
