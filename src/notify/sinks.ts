/**
 * Where notifications go: a generic JSON webhook (signed with HMAC-SHA256 over the timestamp and
 * the body when a secret is given), a Slack-, Mattermost- or Discord-compatible incoming webhook
 * (one readable line, its markup escaped and its mentions made inert: events/format.ts), or a
 * command reading the event as JSON on stdin. Each delivery either resolves or rejects with
 * DeliveryError, which says whether trying again could help.
 *
 * A webhook's URL is a secret (a chat hook's path is its token; others carry `?access_token=` or
 * credentials): a sink is named, in logs, metrics and errors, by its kind, scheme and host only.
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { chatLine, type ChatDialect } from '../events/format.js';
import type { EventFilter } from '../events/filter.js';
import type { BerthEvent } from '../events/types.js';

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface Sink {
  /** How logs and metrics name it: never a credential (the URL's kind, scheme and host only, or the command's program). */
  readonly name: string;
  readonly filter: EventFilter;
  deliver(event: BerthEvent): Promise<void>;
}

/** How long a receiver may take to answer. */
const DELIVERY_TIMEOUT_MS = 10_000;

/** `webhook`: the event itself as JSON; `slack`, `mattermost`: `{"text": "..."}`; `discord`: `{"content": "...", "allowed_mentions": {"parse": []}}`. */
export type WebhookKind = 'webhook' | ChatDialect;

interface WebhookOptions {
  url: string;
  filter: EventFilter;
  /** Signs each body (JSON webhooks): `X-Berth-Signature: sha256=<hex HMAC of "<timestamp>.<body>">` beside `X-Berth-Timestamp`. */
  secret?: string;
  kind: WebhookKind;
  publicUrl?: string;
  now: () => number;
  /** How logs and metrics name it (default sinkName(kind, url)): told apart from another sink of the same name by the caller. */
  name?: string;
}

export function webhookSink(options: WebhookOptions): Sink {
  const name = options.name ?? sinkName(options.kind, options.url);
  const kind = options.kind;
  const { target, authorization } = basicAuth(options.url);
  return {
    name,
    filter: options.filter,
    async deliver(event) {
      const body =
        kind === 'webhook'
          ? JSON.stringify(event)
          : kind === 'discord'
            ? JSON.stringify({ content: chatLine(event, options.publicUrl, kind), allowed_mentions: { parse: [] } })
            : JSON.stringify({ text: chatLine(event, options.publicUrl, kind) });
      const timestamp = String(Math.floor(options.now() / 1000));
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'berth',
        'x-berth-event': event.type,
        'x-berth-delivery': event.id,
        'x-berth-timestamp': timestamp,
      };
      if (options.secret !== undefined)
        headers['x-berth-signature'] =
          `sha256=${createHmac('sha256', options.secret).update(`${timestamp}.${body}`).digest('hex')}`;
      if (authorization !== undefined) headers.authorization = authorization;
      let response: Response;
      try {
        response = await fetch(target, {
          method: 'POST',
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        });
        await response.arrayBuffer().catch(() => undefined);
      } catch (error) {
        const inner = (error as { cause?: { code?: string; message?: string } }).cause;
        const cause =
          inner?.code ??
          ((error as Error).name === 'TimeoutError'
            ? `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`
            : withoutUrl(inner?.message ?? (error as Error).message, options.url));
        throw new DeliveryError(`${name}: ${cause}`, true);
      }
      if (response.status >= 200 && response.status < 300) return;
      const retryAfter = Number(response.headers.get('retry-after'));
      const retryable = response.status >= 500 || response.status === 429 || response.status === 408;
      throw new DeliveryError(
        `${name}: HTTP ${response.status}`,
        retryable,
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
      );
    },
  };
}

/** Runs `command` with `/bin/sh -c`, the event as JSON on stdin; a non-zero exit or the timeout is a failure. */
export function execSink(command: string, filter: EventFilter, timeoutMs = DELIVERY_TIMEOUT_MS): Sink {
  const name = `exec ${command.trim().split(/\s+/)[0] ?? ''}`;
  return {
    name,
    filter,
    deliver(event) {
      return new Promise((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'ignore', 'pipe'] });
        let stderr = '';
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-500)));
        child.on('error', (error) => {
          clearTimeout(timer);
          reject(new DeliveryError(`${name}: ${error.message}`, true));
        });
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          if (code === 0) resolve();
          else
            reject(
              new DeliveryError(
                `${name}: ${signal === 'SIGKILL' ? `no exit within ${timeoutMs / 1000} s` : `exit code ${code}`}${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`,
                true,
              ),
            );
        });
        child.stdin.on('error', () => undefined);
        child.stdin.end(`${JSON.stringify(event)}\n`);
      });
    },
  };
}

/** How a webhook sink is named: its kind, scheme and host, as it was given (`slack+https://hooks.slack.com`, `https://hooks.example.com`). */
export function sinkName(kind: WebhookKind, url: string): string {
  return `${kind === 'webhook' ? '' : `${kind}+`}${safeUrl(url)}`;
}

/** A URL as it may be shown: its scheme and host only, never its credentials, path, query or fragment (any of them may be a token). */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.host === '' ? parsed.protocol : `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'an invalid URL';
  }
}

/** A URL's `user:password@` (an ntfy topic's, a receiver's behind basic auth) as the Authorization header fetch wants it in. */
function basicAuth(url: string): { target: string; authorization?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { target: url };
  }
  if (parsed.username === '' && parsed.password === '') return { target: url };
  const decoded = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  const credentials = `${decoded(parsed.username)}:${decoded(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  return { target: parsed.href, authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}

/** `text` (an error's message) without `url` or any secret piece of it. */
function withoutUrl(text: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return text.split(url).join(safeUrl(url));
  }
  const pieces = [
    url,
    parsed.href,
    `${parsed.pathname}${parsed.search}`,
    parsed.search,
    parsed.password,
    parsed.username,
    parsed.pathname === '/' ? '' : parsed.pathname,
  ];
  const decoded = pieces.map((piece) => {
    try {
      return decodeURIComponent(piece);
    } catch {
      return piece;
    }
  });
  return [...pieces, ...decoded]
    .filter((piece) => piece.length > 1)
    .sort((a, b) => b.length - a.length)
    .reduce((said, piece) => said.split(piece).join(piece === url || piece === parsed.href ? safeUrl(url) : '…'), text);
}
