/**
 * Every tag of a repository, from its registry's HTTP API v2: `GET /v2/<name>/tags/list?n=1000`,
 * following `Link: <...>; rel="next"` (same origin only, at most 100 pages and 100,000 tags, a page
 * at most 4 MiB). Each request has 15 s (`timeoutMs`), the whole listing 60 s (`deadlineMs`: a
 * registry that answers each of 100 pages just within the timeout cannot hold a look, and so the
 * looks at other repositories, for half an hour), redirects are followed by hand (at most 3, same
 * origin). Scheme: plain http for a loopback registry, https otherwise (registry-repository.ts).
 *
 * Authentication is the registry's to ask for: the first request goes without (or with a bearer
 * token cached for this repository), and a `401` is answered once per request with what Docker's
 * config.json holds for the registry, found as pulls find it (`registryCredentials`: auths,
 * credHelpers, credsStore): `Basic` with user and password, or `Bearer` with a token from the
 * challenge's realm (registry-token.ts), cached per (registry, scope) until `expires_in` passes. A
 * 401 or 403 after that is `refused`, in the words pulls use, naming the config.json to fix.
 *
 * Tags that are not Docker tags are dropped. Failures are RegistryErrors (registry-errors.ts); the
 * caller's signal aborts with its own reason.
 */
import { dockerConfigPath, registryCredentials } from '../runtime/docker/registry-auth.js';
import { TAG_PATTERN } from '../manifest/tag.js';
import type { Clock } from '../util/clock.js';
import { RegistryError } from './registry-errors.js';
import { RegistryFailures } from './registry-failures.js';
import { exchange, type HttpDeps } from './registry-http.js';
import { registryRepository, type RegistryRepository } from './registry-repository.js';
import { requestToken, type RegistryCredentials } from './registry-token.js';
import { nextLink } from './link-header.js';
import { sharedTokenCache, type TokenCache } from './token-cache.js';
import { parseChallenges, type Challenge } from './www-authenticate.js';

export { RegistryError, type RegistryErrorKind } from './registry-errors.js';

export interface RegistryClientDeps {
  /** The global fetch unless a test passes another. */
  fetch?: typeof fetch;
  /** The environment Docker's CLI would see: DOCKER_CONFIG, HOME, PATH for credential helpers. */
  env: Record<string, string | undefined>;
  clock: Clock;
  /** Per request, headers and body; 15 s unless given. */
  timeoutMs?: number;
  /** For the whole listing, every page, challenge and token request; 60 s unless given. */
  deadlineMs?: number;
  /** Bearer tokens; one cache shared by the whole process unless given. */
  tokens?: TokenCache;
}

export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_DEADLINE_MS = 60_000;
export const PAGE_SIZE = 1_000;
export const MAX_PAGES = 100;
export const MAX_TAGS = 100_000;
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;

/**
 * Every tag of `repository` (e.g. `127.0.0.1:5000/team/web`, `team/web` on Docker Hub, `nginx` =
 * `library/nginx`), each once, in the registry's order. Rejects with a RegistryError; with the
 * signal's reason when it aborts; with a TypeError when `repository` is no repository name.
 */
export async function listTags(repository: string, deps: RegistryClientDeps, signal: AbortSignal): Promise<string[]> {
  const target = registryRepository(repository);
  signal.throwIfAborted();
  const deadline = new AbortController();
  const deadlineMs = deps.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const cancelDeadline = deps.clock.schedule(() => deadline.abort(new Error('deadline')), deadlineMs);
  const session = new RegistrySession(target, deps, AbortSignal.any([signal, deadline.signal]));
  try {
    return await listPages(target, session);
  } catch (error) {
    if (deadline.signal.aborted && !signal.aborted)
      throw new RegistryError(
        'unreachable',
        target.registry,
        target.name,
        `${target.registry} did not list the tags of ${target.name} within ${Math.round(deadlineMs / 1000)}s`,
      );
    throw error;
  } finally {
    cancelDeadline();
  }
}

/** Every page of the listing, in order. */
async function listPages(target: RegistryRepository, session: RegistrySession): Promise<string[]> {
  const tags = new Set<string>();
  const visited = new Set<string>();
  let url: URL | undefined = new URL(`${target.origin}/v2/${target.name}/tags/list?n=${PAGE_SIZE}`);
  for (let page = 1; url !== undefined; page += 1) {
    if (page > MAX_PAGES) throw session.failures.badAnswer(`more than ${MAX_PAGES} pages of tags`);
    visited.add(url.href);
    const { body, link } = await session.getPage(url, page);
    for (const tag of tagsOf(body, page, session.failures)) {
      tags.add(tag);
      if (tags.size > MAX_TAGS) throw session.failures.badAnswer(`more than ${MAX_TAGS} tags`);
    }
    url = nextPage(link, url, target, visited, page, session.failures);
  }
  return [...tags];
}

/** One listing's requests: the Authorization it has earned so far, and its credentials, looked up once. */
class RegistrySession {
  readonly failures: RegistryFailures;
  private readonly http: HttpDeps;
  private readonly tokens: TokenCache;
  private readonly scope: string;
  private authorization: string | undefined;
  private fromCache = false;
  private credentialsSent = false;
  private credentialsLookup: Promise<RegistryCredentials | undefined> | undefined;

  constructor(
    private readonly target: RegistryRepository,
    private readonly deps: RegistryClientDeps,
    private readonly signal: AbortSignal,
  ) {
    this.failures = new RegistryFailures(target.registry, target.name, dockerConfigPath(deps.env), deps.clock);
    this.http = { fetch: deps.fetch ?? fetch, clock: deps.clock, timeoutMs: deps.timeoutMs ?? DEFAULT_TIMEOUT_MS };
    this.tokens = deps.tokens ?? sharedTokenCache;
    this.scope = `repository:${target.name}:pull`;
    const cached = this.tokens.get(target.registry, this.scope, deps.clock.now());
    if (cached !== undefined) {
      this.authorization = `Bearer ${cached}`;
      this.fromCache = true;
    }
  }

  /** Page `page` at `url`, parsed, with its Link header; a 401 answered at most once. */
  async getPage(url: URL, page: number): Promise<{ body: unknown; link: string | null }> {
    for (let challenged = false; ; challenged = true) {
      const answer = await this.get(url);
      if (answer.kind === 'page') {
        try {
          return { body: JSON.parse(answer.text), link: answer.link };
        } catch {
          throw this.failures.badAnswer(`tags page ${page} is not JSON`);
        }
      }
      if (challenged) throw this.failures.refused(this.credentialsSent);
      if (this.fromCache) {
        this.tokens.forget(this.target.registry, this.scope);
        this.fromCache = false;
      }
      await this.answerChallenge(answer.challenge);
    }
  }

  private async get(
    url: URL,
  ): Promise<{ kind: 'page'; text: string; link: string | null } | { kind: 'challenge'; challenge: string }> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'berth' };
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    try {
      return await exchange({ url, headers }, this.http, this.signal, async (answer) => {
        if (answer.status === 200) {
          const body = await answer.body(MAX_PAGE_BYTES);
          return { kind: 'page', text: body.toString('utf8'), link: answer.headers.get('link') };
        }
        if (answer.status === 401)
          return { kind: 'challenge', challenge: answer.headers.get('www-authenticate') ?? '' };
        if (answer.status === 403) throw this.failures.refused(this.credentialsSent);
        throw this.failures.status(answer.status, answer.headers);
      });
    } catch (error) {
      throw this.failures.wrap(error);
    }
  }

  /** Earns an Authorization for the next request from a 401's `WWW-Authenticate`: Bearer preferred, else Basic. */
  private async answerChallenge(header: string): Promise<void> {
    let challenges: Challenge[];
    try {
      challenges = parseChallenges(header);
    } catch (error) {
      throw this.failures.badAnswer(`a 401 whose WWW-Authenticate cannot be read (${(error as Error).message})`);
    }
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer !== undefined) {
      const issued = await requestToken(
        this.target.origin,
        bearer,
        this.scope,
        () => this.credentials(),
        this.http,
        this.failures,
        this.signal,
      );
      this.authorization = `Bearer ${issued.token}`;
      this.credentialsSent = issued.credentialsSent;
      this.tokens.set(this.target.registry, this.scope, issued.token, this.deps.clock.now() + issued.expiresInMs);
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      const found = await this.credentials();
      if (found?.kind !== 'basic') throw this.failures.refused(false);
      this.authorization = `Basic ${Buffer.from(`${found.username}:${found.password}`).toString('base64')}`;
      this.credentialsSent = true;
      return;
    }
    const schemes = challenges.map((c) => c.scheme).join(', ');
    throw this.failures.badAnswer(`a 401 asking for an authentication berth does not speak (${schemes})`);
  }

  /** Docker's config.json entry for the registry, looked up at most once per listing, only when asked for. */
  private credentials(): Promise<RegistryCredentials | undefined> {
    this.credentialsLookup ??= this.lookUpCredentials();
    return this.credentialsLookup;
  }

  private async lookUpCredentials(): Promise<RegistryCredentials | undefined> {
    const { registry, name } = this.target;
    let found: Awaited<ReturnType<typeof registryCredentials>>;
    try {
      found = await registryCredentials(`${registry}/${name}`, this.deps.env);
    } catch (error) {
      throw this.failures.credentialsUnreadable(error);
    }
    if (found === undefined) return undefined;
    if (found.identitytoken) return { kind: 'identity-token', token: found.identitytoken };
    if (found.username !== undefined && found.password !== undefined)
      return { kind: 'basic', username: found.username, password: found.password };
    return undefined;
  }
}

/** The tags of one page (`{ name, tags: [...] | null }`), those in Docker's tag grammar. */
function tagsOf(body: unknown, page: number, failures: RegistryFailures): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw failures.badAnswer(`tags page ${page} is no JSON object`);
  const { tags } = body as { tags?: unknown };
  if (tags === undefined || tags === null) return [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string'))
    throw failures.badAnswer(`tags page ${page} has a "tags" that is no list of strings`);
  return tags.filter((tag: string) => TAG_PATTERN.test(tag));
}

/** The page after `current`, from its Link header; undefined at the last page. */
function nextPage(
  link: string | null,
  current: URL,
  target: RegistryRepository,
  visited: Set<string>,
  page: number,
  failures: RegistryFailures,
): URL | undefined {
  let written: string | undefined;
  try {
    written = nextLink(link);
  } catch (error) {
    throw failures.badAnswer(`tags page ${page} has a Link header that cannot be read (${(error as Error).message})`);
  }
  if (written === undefined) return undefined;
  let next: URL;
  try {
    next = new URL(written, current);
  } catch {
    throw failures.badAnswer(`tags page ${page} links to a next page that is no URL`);
  }
  if (next.origin !== target.origin)
    throw failures.badAnswer(
      `tags page ${page} links to a next page on another origin (${next.protocol}//${next.host})`,
    );
  if (visited.has(next.href)) throw failures.badAnswer(`tags page ${page} links back to a page already read`);
  return next;
}
