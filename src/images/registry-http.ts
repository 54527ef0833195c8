/**
 * One HTTP exchange with a registry or its token service, as a hostile server cannot abuse it: a
 * timeout over the whole exchange (headers and body, on the clock passed in), redirects followed by
 * hand (at most 3, GET only, never to another origin, so credentials never travel to a host they
 * were not meant for), and a body read only up to a bound, the connection dropped past it (a
 * declared Content-Length over it is refused before reading). The caller's signal aborts it with
 * the signal's reason; everything else that goes wrong is an HttpFailure.
 */
import type { Clock } from '../util/clock.js';
import { oneLine } from '../util/strip-control.js';

export interface HttpDeps {
  fetch: typeof fetch;
  clock: Clock;
  /** For the whole exchange, redirects and body included. */
  timeoutMs: number;
}

export interface HttpRequest {
  url: URL;
  method?: 'GET' | 'POST';
  headers: Record<string, string>;
  /** A form body, for POST. */
  body?: URLSearchParams;
}

/** What the server answered; `body` reads at most `maxBytes`, else throws an HttpFailure. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** The URL that answered, after redirects. */
  url: URL;
  body(maxBytes: number): Promise<Buffer>;
}

/** `unreachable`: no connection or no answer in time; `bad-answer`: the server said something berth will not follow. */
export class HttpFailure extends Error {
  constructor(
    readonly kind: 'unreachable' | 'bad-answer',
    message: string,
  ) {
    super(message);
    this.name = 'HttpFailure';
  }
}

export const MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REASON = 200;

/**
 * Sends `request` and hands the answer to `handle`, within the timeout; whatever `handle` throws
 * goes through as it is, but for a body read cut by the timeout (an HttpFailure). The body is
 * released when `handle` is done, read or not.
 */
export async function exchange<T>(
  request: HttpRequest,
  deps: HttpDeps,
  signal: AbortSignal,
  handle: (answer: HttpAnswer) => Promise<T>,
): Promise<T> {
  signal.throwIfAborted();
  const controller = new AbortController();
  let timedOut = false;
  const cancelTimer = deps.clock.schedule(() => {
    timedOut = true;
    controller.abort(new Error('timeout'));
  }, deps.timeoutMs);
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  /** A failure of the transport in berth's words; the caller's abort as its reason. */
  const transportFailure = (error: unknown): unknown => {
    if (signal.aborted) return signal.reason;
    if (error instanceof HttpFailure) return error;
    if (timedOut) return new HttpFailure('unreachable', `no answer within ${duration(deps.timeoutMs)}`);
    return new HttpFailure('unreachable', networkReason(error));
  };

  let response: Response | undefined;
  try {
    let url = request.url;
    const origin = request.url.origin;
    for (let hop = 0; ; hop += 1) {
      try {
        response = await deps.fetch(url, {
          method: request.method ?? 'GET',
          headers: request.headers,
          ...(request.body !== undefined ? { body: request.body } : {}),
          redirect: 'manual',
          signal: controller.signal,
        });
      } catch (error) {
        throw transportFailure(error);
      }
      if (!REDIRECTS.has(response.status)) break;
      await release(response);
      if (hop === MAX_REDIRECTS) throw new HttpFailure('bad-answer', `more than ${MAX_REDIRECTS} redirects`);
      if ((request.method ?? 'GET') !== 'GET')
        throw new HttpFailure('bad-answer', `a redirect (${response.status}) of a POST`);
      const next = resolve(response.headers.get('location'), url);
      if (next === undefined)
        throw new HttpFailure('bad-answer', `a redirect (${response.status}) without a usable Location`);
      if (next.origin !== origin)
        throw new HttpFailure('bad-answer', `a redirect to another origin (${next.protocol}//${next.host})`);
      url = next;
    }
    const answered = response;
    const answer: HttpAnswer = {
      status: answered.status,
      headers: answered.headers,
      url,
      body: async (maxBytes) => {
        try {
          return await readBounded(answered, maxBytes);
        } catch (error) {
          throw transportFailure(error);
        }
      },
    };
    return await handle(answer);
  } finally {
    cancelTimer();
    signal.removeEventListener('abort', onAbort);
    if (response !== undefined) await release(response);
  }
}

/** The body, whole, when it is at most `maxBytes`; past that the stream is cancelled (the connection dropped). */
async function readBounded(response: Response, maxBytes: number): Promise<Buffer> {
  const declared = response.headers.get('content-length');
  if (declared !== null && /^[0-9]+$/.test(declared.trim()) && Number(declared) > maxBytes)
    throw new HttpFailure('bad-answer', `a body of ${declared.trim()} bytes, over the ${bytes(maxBytes)} bound`);
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks, size);
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new HttpFailure('bad-answer', `a body over the ${bytes(maxBytes)} bound`);
    }
    chunks.push(value);
  }
}

/** Lets the connection go without reading what is left of the body. */
async function release(response: Response): Promise<void> {
  if (response.body !== null && !response.body.locked) await response.body.cancel().catch(() => undefined);
}

function resolve(location: string | null, base: URL): URL | undefined {
  if (location === null || location.length > 8 * 1024) return undefined;
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

/** What undici says went wrong (`connect ECONNREFUSED 127.0.0.1:5000`), on one line, short. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: unknown })?.cause;
  const source = cause instanceof Error ? cause : error instanceof Error ? error : undefined;
  const text = oneLine(source?.message ?? String(error)).trim();
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}…` : text || 'the connection failed';
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${Math.round(ms / 1000)}s`;
}

function bytes(count: number): string {
  return count >= 1024 * 1024 ? `${count / (1024 * 1024)} MiB` : `${count / 1024} KiB`;
}
