/**
 * A bearer token from the token service a registry's `WWW-Authenticate: Bearer realm=...,
 * service=..., scope=...` challenge names (the Docker Registry token protocol): `GET realm?service=
 * &scope=` with Basic credentials when berth has a user and password for the registry, or, for an
 * identity token (what `docker login` keeps for some registries), the OAuth2 form `POST realm` with
 * `grant_type=refresh_token`. The answer is JSON `{ token | access_token, expires_in? }` of at most
 * 64 KiB. The realm must be http(s) with no credentials in it, and no nearer this machine than
 * the registry (host-reach.ts: a registry off loopback naming a token service on loopback, on a
 * link-local address such as a cloud's metadata service, or a public registry naming a private
 * address, is refused: that is a hostile registry reaching what it cannot itself). berth's
 * credentials go to it over https, or plain http on a loopback host only (elsewhere the token is
 * asked for anonymously).
 */
import type { Challenge } from './www-authenticate.js';
import { exchange, type HttpDeps } from './registry-http.js';
import type { RegistryFailures } from './registry-failures.js';
import { isLoopbackHost } from './registry-repository.js';
import { hostReach, isNearerThan } from './host-reach.js';

/** What berth found in Docker's config.json for a registry. */
export type RegistryCredentials =
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'identity-token'; token: string };

export interface IssuedToken {
  token: string;
  /** From `expires_in` (at most a day), 60 s when the service gave none. */
  expiresInMs: number;
  /** Whether berth's credentials went with the request (for the wording of a later refusal). */
  credentialsSent: boolean;
}

export const MAX_TOKEN_ANSWER = 64 * 1024;
const DEFAULT_EXPIRES_IN_S = 60;
const MAX_EXPIRES_IN_S = 24 * 60 * 60;
const TOKEN = /^[\x21-\x7e]{1,16384}$/;

/**
 * Asks the token service of `challenge` (a Bearer one, from the registry at `registryOrigin`) for
 * a token for `scope` (or the challenge's own).
 */
export async function requestToken(
  registryOrigin: string,
  challenge: Challenge,
  defaultScope: string,
  credentials: () => Promise<RegistryCredentials | undefined>,
  http: HttpDeps,
  failures: RegistryFailures,
  signal: AbortSignal,
): Promise<IssuedToken> {
  const realm = realmOf(challenge.params.get('realm'));
  if (typeof realm === 'string') throw failures.badAnswer(realm);
  const registryHost = new URL(registryOrigin).hostname;
  if (isNearerThan(realm.hostname, registryHost))
    throw failures.badAnswer(
      `a Bearer challenge naming a token service on a ${hostReach(realm.hostname)} address (${realm.origin}) from a registry that is not: refused`,
    );
  const who = `its token service (${realm.origin})`;
  const secure = realm.protocol === 'https:' || isLoopbackHost(realm.hostname);
  const found = await credentials();
  const sent = secure ? found : undefined;
  const withheld =
    found !== undefined && !secure
      ? `berth sent none to ${realm.origin}: plain http off loopback could be read on the way`
      : undefined;

  const service = challenge.params.get('service');
  const scope = challenge.params.get('scope') ?? defaultScope;
  const url = new URL(realm);
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'berth' };
  let body: URLSearchParams | undefined;
  if (sent?.kind === 'identity-token') {
    body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: sent.token, client_id: 'berth', scope });
    if (service !== undefined) body.set('service', service);
  } else {
    if (service !== undefined) url.searchParams.append('service', service);
    url.searchParams.append('scope', scope);
    if (sent?.kind === 'basic')
      headers.authorization = `Basic ${Buffer.from(`${sent.username}:${sent.password}`).toString('base64')}`;
  }

  try {
    return await exchange(
      { url, method: body === undefined ? 'GET' : 'POST', headers, ...(body !== undefined ? { body } : {}) },
      http,
      signal,
      async (answer) => {
        if (answer.status === 401 || answer.status === 403) throw failures.refused(sent !== undefined, withheld);
        if (answer.status !== 200) throw failures.status(answer.status, answer.headers, who);
        const issued = tokenOf(await answer.body(MAX_TOKEN_ANSWER));
        if (typeof issued === 'string') throw failures.badAnswer(issued, who);
        return { ...issued, credentialsSent: sent !== undefined };
      },
    );
  } catch (error) {
    throw failures.wrap(error, who);
  }
}

/** The realm as a URL, or why it cannot be used. */
function realmOf(realm: string | undefined): URL | string {
  if (realm === undefined || realm === '') return 'a Bearer challenge without a realm';
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    return 'a Bearer challenge whose realm is no URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'a Bearer challenge whose realm is not http(s)';
  if (url.username !== '' || url.password !== '') return 'a Bearer challenge whose realm carries credentials';
  return url;
}

/** `{ token | access_token, expires_in? }`, or what is wrong with it. */
function tokenOf(body: Buffer): { token: string; expiresInMs: number } | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return 'the token answer is not JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'the token answer is no object';
  const { token, access_token: accessToken, expires_in: expiresIn } = parsed as Record<string, unknown>;
  const value = typeof token === 'string' && token !== '' ? token : accessToken;
  if (typeof value !== 'string' || !TOKEN.test(value)) return 'the token answer has no usable token';
  const seconds =
    typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0
      ? Math.min(expiresIn, MAX_EXPIRES_IN_S)
      : DEFAULT_EXPIRES_IN_S;
  return { token: value, expiresInMs: seconds * 1000 };
}
