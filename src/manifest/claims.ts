/**
 * Claims apps make on what the host has one of: a host port (address, port, protocol), a domain
 * (a proxy's virtual host), a named volume. Two apps claiming one port or one domain collide:
 * Docker would fail the second container, nginx would silently serve only one of them. A named
 * volume shared by two apps is allowed (sometimes meant) but worth a warning. Pure.
 */
import { printable } from './printable.js';
import type { App, ManifestProblem, Protocol, SourcePosition } from './types.js';

export type Claim =
  | { kind: 'port'; hostIp: string; port: number; protocol: Protocol; app: string; at: SourcePosition }
  | { kind: 'domain'; domain: string; app: string; at: SourcePosition }
  | { kind: 'volume'; name: string; app: string; at: SourcePosition };

export interface Collision {
  /** `error` for ports and domains (one app must give way), `warning` for volumes. */
  severity: 'error' | 'warning';
  /** What is claimed twice, for people: `host port 127.0.0.1:18777/tcp`, `domain shop.example.test`. */
  what: string;
  /** Every claim on it, in file order. */
  claims: Claim[];
}

/** With `--proxy nginx --domain D`, an app without domains is served as `<app>.D`. */
interface ClaimOptions {
  defaultDomain?: string;
}

/** `Shop.Example.test.` and `shop.example.test` are one name. */
export function normalizeDomain(domain: string): string {
  return domain.toLowerCase().replace(/\.$/, '');
}

/** The claims `app` makes; a default vhost is claimed where its `domains` entry would be (the document's start). */
export function claimsOf(app: App, options: ClaimOptions = {}): Claim[] {
  const { spec, name } = app;
  const at = app.claimsAt;
  const claims: Claim[] = [];
  spec.ports.forEach((port, i) => {
    if (port.host !== undefined)
      claims.push({
        kind: 'port',
        hostIp: port.hostIp,
        port: port.host,
        protocol: port.protocol,
        app: name,
        at: at?.ports[i] ?? app.source,
      });
  });
  spec.domains.forEach((domain, i) => {
    claims.push({ kind: 'domain', domain: normalizeDomain(domain), app: name, at: at?.domains[i] ?? app.source });
  });
  if (spec.domains.length === 0 && options.defaultDomain !== undefined)
    claims.push({
      kind: 'domain',
      domain: normalizeDomain(`${name}.${options.defaultDomain}`),
      app: name,
      at: app.source,
    });
  spec.volumes.forEach((volume, i) => {
    if (!volume.source.startsWith('/'))
      claims.push({ kind: 'volume', name: volume.source, app: name, at: at?.volumes[i] ?? app.source });
  });
  return claims;
}

/** The claim as one key, equal for claims on one thing (ports: per exact address; `findCollisions` groups them wider). */
export function claimKey(claim: Claim): string {
  switch (claim.kind) {
    case 'port':
      return `port ${claim.protocol} ${claim.port} ${claim.hostIp}`;
    case 'domain':
      return `domain ${claim.domain}`;
    case 'volume':
      return `volume ${claim.name}`;
  }
}

/**
 * Claims of different apps on one thing. Linear in the number of claims: ports are grouped by
 * port, protocol and family before addresses are compared.
 */
export function findCollisions(apps: Iterable<App>, options: ClaimOptions = {}): Collision[] {
  const groups = new Map<string, Claim[]>();
  for (const app of apps) {
    for (const claim of claimsOf(app, options)) {
      const key =
        claim.kind === 'port' ? `port ${claim.protocol} ${claim.port} ${family(claim.hostIp)}` : claimKey(claim);
      const group = groups.get(key);
      if (group) group.push(claim);
      else groups.set(key, [claim]);
    }
  }
  const collisions: Collision[] = [];
  for (const group of groups.values()) {
    if (new Set(group.map((c) => c.app)).size < 2) continue;
    for (const claims of overlappingSets(group)) {
      const first = claims[0]!;
      collisions.push({
        severity: first.kind === 'volume' ? 'warning' : 'error',
        what: describe(first, claims),
        claims: claims.sort(byPosition),
      });
    }
  }
  return collisions.sort((a, b) => byPosition(a.claims[0]!, b.claims[0]!));
}

/**
 * The lines `validate` prints for `collisions`: in each file, one line at the last claim there,
 * naming every other claim with its `file:line:col`.
 */
export function collisionProblems(collisions: readonly Collision[]): ManifestProblem[] {
  return collisions.flatMap((collision) => {
    const lastInFile = new Map<string, Claim>();
    for (const claim of collision.claims) lastInFile.set(claim.at.file, claim);
    return [...lastInFile.values()].map((claim) => ({
      ...claim.at,
      app: claim.app,
      message: collisionMessage(collision, claim),
    }));
  });
}

/** `host port 127.0.0.1:18777/tcp is also published by app a (apps.yaml:7:11)`, from `claim`'s side. */
export function collisionMessage(collision: Collision, claim: Claim): string {
  const others = collision.claims.filter((c) => c !== claim && c.app !== claim.app);
  const verb = claim.kind === 'port' ? 'published' : claim.kind === 'domain' ? 'served' : 'used';
  const who = others.map((c) => `app ${c.app} (${printable(c.at.file)}:${c.at.line}:${c.at.col})`).join(', ');
  return `${collision.severity === 'warning' ? 'warning: ' : ''}${collision.what} is also ${verb} by ${who}`;
}

/** Claims in a port group that overlap some claim of another app, as sets of one socket each. */
function overlappingSets(group: Claim[]): Claim[][] {
  if (group[0]?.kind !== 'port') return [group];
  const sets: Claim[][] = [];
  const wildcards = group.filter((c) => c.kind === 'port' && isWildcard(c.hostIp));
  const byAddress = new Map<string, Claim[]>();
  for (const claim of group)
    if (claim.kind === 'port' && !isWildcard(claim.hostIp))
      byAddress.set(claim.hostIp, [...(byAddress.get(claim.hostIp) ?? []), claim]);
  // A wildcard takes every address of its family: one set with all of them.
  if (wildcards.length > 0) return [group];
  for (const claims of byAddress.values()) if (new Set(claims.map((c) => c.app)).size > 1) sets.push(claims);
  return sets;
}

function describe(claim: Claim, claims: Claim[]): string {
  switch (claim.kind) {
    case 'port': {
      const specific = claims.find((c) => c.kind === 'port' && !isWildcard(c.hostIp)) ?? claim;
      const ip = specific.kind === 'port' ? specific.hostIp : claim.hostIp;
      return `host port ${ip.includes(':') ? `[${ip}]` : ip}:${claim.port}/${claim.protocol}`;
    }
    case 'domain':
      return `domain ${claim.domain}`;
    case 'volume':
      return `named volume ${claim.name}`;
  }
}

function byPosition(a: Claim, b: Claim): number {
  return a.at.file.localeCompare(b.at.file) || a.at.line - b.at.line || a.at.col - b.at.col;
}

function family(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

/** An address that listens on every address of its family (the engine reports an unset one as ''). */
export function isWildcard(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::' || ip === '';
}
