/**
 * Registry push notifications, read: which images a POST to `/hooks/registry` says were pushed, and
 * whether it carries the shared secret. Three shapes:
 * - the CNCF distribution registry's envelope (Debian's `docker-registry` sends it to each endpoint
 *   of its `notifications:` config): `{ events: [{ action: 'push', target: { mediaType, digest,
 *   repository, tag?, url }, request: { host } }] }`; only manifest pushes count (a layer push is
 *   a blob: skipped), the registry named by `request.host`;
 * - Docker Hub's: `{ push_data: { tag }, repository: { repo_name } }`, registry `docker.io`;
 * - Harbor's, Default format `{ type: 'PUSH_ARTIFACT', event_data: { repository: { repo_full_name },
 *   resources: [{ tag, digest, resource_url }] } }` (Harbor 1.x: `type: 'pushImage'`) or CloudEvents
 *   format `{ specversion, type: 'harbor.artifact.pushed', data: { repository, resources } }`; the
 *   registry is `resource_url`'s host. A `tag` that is a digest (a push by digest) counts as none.
 * Pulls, deletes, scans and the like name no push: []. At most 1,000 events (or Harbor resources)
 * are considered. Registries are named as registry-repository.ts names them (Docker Hub's aliases
 * are `docker.io`, a Docker Hub name without a slash is `library/<name>`). Pure.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { TAG_PATTERN } from '../manifest/tag.js';
import { RegistryWebhookError } from './registry-errors.js';
import { canonicalRegistry, DOCKER_HUB, isRegistryHost, isRepositoryName } from './registry-repository.js';

export { RegistryWebhookError } from './registry-errors.js';

/** One pushed image: the registry when the notification says (`127.0.0.1:5000`, `docker.io`), the tag unless pushed by digest. */
export interface PushedImage {
  registry?: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export const MAX_EVENTS = 1_000;

/** Manifest media types (Docker v2 schema 1 and 2, OCI); a push of anything else with no tag is a blob. */
const MANIFEST_MEDIA_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.artifact.manifest.v1+json',
]);
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const HARBOR_PUSH_TYPES = new Set(['PUSH_ARTIFACT', 'pushImage', 'harbor.artifact.pushed']);

/**
 * The images a registry notification says were pushed; [] for one that names no push (pulls,
 * deletes). Throws RegistryWebhookError (one line) for a body that is none of the known shapes.
 */
export function pushedImages(body: unknown): PushedImage[] {
  if (!isObject(body)) throw new RegistryWebhookError('the notification is no JSON object');
  if ('events' in body) return distributionPushes(body.events);
  if ('push_data' in body) return dockerHubPushes(body);
  if (typeof body.type === 'string' && ('event_data' in body || 'specversion' in body)) return harborPushes(body);
  throw new RegistryWebhookError(
    'the notification is none berth reads (a distribution registry envelope, a Docker Hub or a Harbor push)',
  );
}

/**
 * Whether the request carries the shared secret: `Authorization: Bearer <secret>` or
 * `Authorization: <secret>` (Harbor sends the configured value verbatim) compared in constant time;
 * `?token=` query is NOT accepted (it lands in logs). An empty secret matches nothing.
 */
export function carriesSecret(authorization: string | undefined, secret: Buffer): boolean {
  if (authorization === undefined || secret.length === 0) return false;
  const bearer = /^Bearer +/i.exec(authorization);
  const verbatim = sameSecret(Buffer.from(authorization, 'utf8'), secret);
  const asBearer = bearer !== null && sameSecret(Buffer.from(authorization.slice(bearer[0].length), 'utf8'), secret);
  return verbatim || asBearer;
}

/** Compared by their SHA-256 digests: the same length whatever was sent, so the comparison's time tells nothing. */
function sameSecret(given: Buffer, secret: Buffer): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

function distributionPushes(events: unknown): PushedImage[] {
  if (!Array.isArray(events)) throw new RegistryWebhookError('the envelope\'s "events" is no list');
  const pushed: PushedImage[] = [];
  for (const [index, event] of events.slice(0, MAX_EVENTS).entries()) {
    const where = `event ${index + 1}`;
    if (!isObject(event)) throw new RegistryWebhookError(`${where} of the envelope is no object`);
    if (event.action !== 'push') continue;
    const target = event.target;
    if (!isObject(target)) throw new RegistryWebhookError(`${where} (a push) has no target`);
    const mediaType = optionalString(target.mediaType, `${where}'s target.mediaType`);
    const tag = optionalString(target.tag, `${where}'s target.tag`);
    const url = optionalString(target.url, `${where}'s target.url`);
    const isManifest =
      (tag !== undefined && tag !== '') ||
      (mediaType !== undefined && MANIFEST_MEDIA_TYPES.has(mediaType.split(';')[0]?.trim() ?? '')) ||
      (url !== undefined && /\/manifests\/[^/]+$/.test(url));
    if (!isManifest) continue;
    const repository = requiredRepository(target.repository, `${where}'s target.repository`, false);
    const request = event.request;
    const host = isObject(request) ? optionalString(request.host, `${where}'s request.host`) : undefined;
    pushed.push(
      image(
        host !== undefined && host !== '' ? registryHost(host, `${where}'s request.host`) : undefined,
        repository,
        tag,
        optionalString(target.digest, `${where}'s target.digest`),
        where,
      ),
    );
  }
  return unique(pushed);
}

function dockerHubPushes(body: Record<string, unknown>): PushedImage[] {
  const pushData = body.push_data;
  const repository = body.repository;
  if (!isObject(pushData) || !isObject(repository))
    throw new RegistryWebhookError('the Docker Hub notification has no push_data or repository object');
  const name = requiredRepository(repository.repo_name, 'repository.repo_name', true);
  const tag = optionalString(pushData.tag, 'push_data.tag');
  return [image(DOCKER_HUB, name, tag, undefined, 'the Docker Hub notification')];
}

function harborPushes(body: Record<string, unknown>): PushedImage[] {
  if (!HARBOR_PUSH_TYPES.has(body.type as string)) return [];
  const data = 'specversion' in body ? body.data : body.event_data;
  if (!isObject(data)) throw new RegistryWebhookError('the Harbor notification has no event data object');
  const repository = data.repository;
  if (!isObject(repository)) throw new RegistryWebhookError('the Harbor notification has no repository object');
  const name = requiredRepository(repository.repo_full_name, 'repository.repo_full_name', false);
  const resources = data.resources;
  if (resources === undefined || resources === null) return [{ repository: name }];
  if (!Array.isArray(resources)) throw new RegistryWebhookError('the Harbor notification\'s "resources" is no list');
  const pushed = resources.slice(0, MAX_EVENTS).map((resource, index) => {
    const where = `resource ${index + 1}`;
    if (!isObject(resource)) throw new RegistryWebhookError(`${where} of the Harbor notification is no object`);
    const url = optionalString(resource.resource_url, `${where}'s resource_url`);
    const host = url !== undefined ? resourceHost(url, name, `${where}'s resource_url`) : undefined;
    return image(
      host,
      name,
      optionalString(resource.tag, `${where}'s tag`),
      optionalString(resource.digest, `${where}'s digest`),
      where,
    );
  });
  return unique(pushed.length > 0 ? pushed : [{ repository: name }]);
}

/** A PushedImage from checked parts: a digest-looking or empty tag is none; a tag must be a Docker tag. */
function image(
  registry: string | undefined,
  repository: string,
  tag: string | undefined,
  digest: string | undefined,
  where: string,
): PushedImage {
  const realTag = tag === undefined || tag === '' || DIGEST.test(tag) ? undefined : tag;
  if (realTag !== undefined && !TAG_PATTERN.test(realTag))
    throw new RegistryWebhookError(`${where} names a tag that is no Docker tag`);
  const realDigest = digest === undefined || digest === '' ? undefined : digest;
  if (realDigest !== undefined && !DIGEST.test(realDigest))
    throw new RegistryWebhookError(`${where} names a digest that is no digest`);
  return {
    ...(registry !== undefined ? { registry } : {}),
    repository,
    ...(realTag !== undefined ? { tag: realTag } : {}),
    ...(realDigest !== undefined ? { digest: realDigest } : {}),
  };
}

/** `hub.example.com/team/web:1.2` (or `@sha256:...`) for repository `team/web`: `hub.example.com`. */
function resourceHost(url: string, repository: string, what: string): string | undefined {
  const slash = url.indexOf('/');
  if (slash < 0) throw new RegistryWebhookError(`${what} names no registry host`);
  const rest = url.slice(slash + 1);
  if (rest !== repository && !rest.startsWith(`${repository}:`) && !rest.startsWith(`${repository}@`))
    throw new RegistryWebhookError(`${what} is not of the notification's repository`);
  return registryHost(url.slice(0, slash), what);
}

function registryHost(host: string, what: string): string {
  if (!isRegistryHost(host)) throw new RegistryWebhookError(`${what} is no registry host`);
  return canonicalRegistry(host);
}

function requiredRepository(value: unknown, what: string, dockerHub: boolean): string {
  if (typeof value !== 'string' || value === '') throw new RegistryWebhookError(`${what} is missing`);
  const name = dockerHub && !value.includes('/') ? `library/${value}` : value;
  if (!isRepositoryName(name)) throw new RegistryWebhookError(`${what} is no repository name`);
  return name;
}

function optionalString(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new RegistryWebhookError(`${what} is no string`);
  return value;
}

function unique(images: PushedImage[]): PushedImage[] {
  const seen = new Map<string, PushedImage>();
  for (const i of images) seen.set(`${i.registry ?? ''}\n${i.repository}\n${i.tag ?? ''}\n${i.digest ?? ''}`, i);
  return [...seen.values()];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
