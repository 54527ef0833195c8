/**
 * Where a repository lives and how berth reaches its registry: `127.0.0.1:5000/team/web` is
 * `team/web` in `127.0.0.1:5000`, over plain http (a loopback host); `registry.example.com/team/web`
 * over https; `team/web` and `nginx` are on Docker Hub (`docker.io`, API at
 * `https://registry-1.docker.io`), a name without a slash there being `library/<name>`. Names follow
 * the distribution reference grammar (lowercase components, `.`, `_`, `__`, `-` between them), hosts
 * the DNS/IP grammar with an optional port. Pure.
 *
 * The scheme rule is deliberately simple: http for loopback hosts (localhost, 127.0.0.0/8, ::1),
 * https for every other registry, whatever the engine's `insecure-registries` says.
 */
import { isIP } from 'node:net';

export interface RegistryRepository {
  /** The registry as berth names it in messages and keys: `127.0.0.1:5000`, `docker.io`. */
  registry: string;
  /** The repository within it: `team/web`, `library/nginx`. */
  name: string;
  /** Where its API answers, without a trailing slash: `http://127.0.0.1:5000`, `https://registry-1.docker.io`. */
  origin: string;
}

/** The name berth gives Docker Hub, whichever of its host names a reference used. */
export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$/;
const MAX_NAME = 255;

/** Where `repository` (no tag, no digest) lives; throws a TypeError naming it when it is no repository. */
export function registryRepository(repository: string): RegistryRepository {
  const slash = repository.indexOf('/');
  const first = slash < 0 ? '' : repository.slice(0, slash);
  const namesHost = first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[');
  const host = namesHost ? first : DOCKER_HUB;
  let name = namesHost ? repository.slice(slash + 1) : repository;
  if (!isRegistryHost(host)) throw new TypeError(`"${repository}" names no valid registry host`);
  const registry = canonicalRegistry(host);
  if (registry === DOCKER_HUB && !name.includes('/')) name = `library/${name}`;
  if (!isRepositoryName(name)) throw new TypeError(`"${repository}" is not a valid repository name`);
  // Through URL, so that the origin is spelled as every URL berth compares it with (`[::1]`, lowercase).
  const origin = new URL(
    registry === DOCKER_HUB
      ? `https://${DOCKER_HUB_API}`
      : `${isLoopbackHost(hostnameOf(registry)) ? 'http' : 'https'}://${registry}`,
  ).origin;
  return { registry, name, origin };
}

/** `host[:port]` as berth keys registries: Docker Hub's aliases are `docker.io`, other hosts lowercased. */
export function canonicalRegistry(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(lower) ? DOCKER_HUB : lower;
}

/** A repository name in the distribution grammar: `team/web`, `library/nginx`, at most 255 characters. */
export function isRepositoryName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME && name.split('/').every((c) => PATH_COMPONENT.test(c));
}

/** `host`, `host:port`, `1.2.3.4:5000` or `[::1]:5000`. */
export function isRegistryHost(host: string): boolean {
  if (host.length === 0 || host.length > 255) return false;
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::([0-9]{1,5}))?$/.exec(host);
  if (bracketed) return isIP(bracketed[1] ?? '') === 6 && validPort(bracketed[2]);
  const [hostname = '', port, ...rest] = host.split(':');
  if (rest.length > 0) return false;
  return hostname.split('.').every((c) => DOMAIN_COMPONENT.test(c)) && validPort(port);
}

/** localhost, 127.0.0.0/8 or ::1 (bracketed or not). */
export function isLoopbackHost(hostname: string): boolean {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  // The WHATWG URL parser writes every spelling of ::1 (`0:0:0:0:0:0:0:1`, `::0001`) as `[::1]`.
  return isIP(bare) === 6 && new URL(`http://[${bare}]/`).hostname === '[::1]';
}

function hostnameOf(host: string): string {
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? host);
}

function validPort(port: string | undefined): boolean {
  if (port === undefined) return true;
  if (!/^[0-9]{1,5}$/.test(port)) return false;
  const value = Number(port);
  return value > 0 && value <= 65535;
}
