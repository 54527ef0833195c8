/**
 * Where notifications go: a generic JSON webhook (signed with HMAC-SHA256 over the timestamp and
 * the body when a secret is given), a Slack- or Mattermost-compatible incoming webhook (one
 * readable line), or a command reading the event as JSON on stdin. Each delivery either resolves
 * or rejects with DeliveryError, which says whether trying again could help.
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { chatLine } from '../events/format.js';
import type { EventFilter } from '../events/filter.js';
import type { BerthEvent } from '../events/types.js';

export class DeliveryError extends Error {
  constructor(message: string, readonly retryable: boolean, readonly retryAfterMs?: number) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface Sink {
  /** How logs and metrics name it: never a credential (the URL's host and path only, or the command's program). */
  readonly name: string;
  readonly filter: EventFilter;
  deliver(event: BerthEvent): Promise<void>;
}

/** How long a receiver may take to answer. */
const DELIVERY_TIMEOUT_MS = 10_000;

export interface WebhookOptions {
  url: string;
  filter: EventFilter;
  /** Signs each body: `X-Berth-Signature: sha256=<hex HMAC of "<timestamp>.<body>">` beside `X-Berth-Timestamp`. */
  secret?: string;
  /** `json`: the event itself; `chat`: `{"text": "..."}` for Slack and Mattermost. */
  format: 'json' | 'chat';
  publicUrl?: string;
  now: () => number;
}

export function webhookSink(options: WebhookOptions): Sink {
  const name = `${options.format === 'chat' ? 'chat' : 'webhook'} ${safeUrl(options.url)}`;
  return {
    name,
    filter: options.filter,
    async deliver(event) {
      const body = options.format === 'chat' ? JSON.stringify({ text: chatLine(event, options.publicUrl) }) : JSON.stringify(event);
      const timestamp = String(Math.floor(options.now() / 1000));
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'berth', 'x-berth-event': event.type, 'x-berth-delivery': event.id, 'x-berth-timestamp': timestamp };
      if (options.secret !== undefined) headers['x-berth-signature'] = `sha256=${createHmac('sha256', options.secret).update(`${timestamp}.${body}`).digest('hex')}`;
      let response: Response;
      try {
        response = await fetch(options.url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) });
        await response.arrayBuffer().catch(() => undefined);
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code ?? ((error as Error).name === 'TimeoutError' ? `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s` : (error as Error).message);
        throw new DeliveryError(`${name}: ${cause}`, true);
      }
      if (response.status >= 200 && response.status < 300) return;
      const retryAfter = Number(response.headers.get('retry-after'));
      const retryable = response.status >= 500 || response.status === 429 || response.status === 408;
      throw new DeliveryError(`${name}: HTTP ${response.status}`, retryable, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
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
          else reject(new DeliveryError(`${name}: ${signal === 'SIGKILL' ? `no exit within ${timeoutMs / 1000} s` : `exit code ${code}`}${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`, true));
        });
        child.stdin.on('error', () => undefined);
        child.stdin.end(JSON.stringify(event) + '\n');
      });
    },
  };
}

/** The URL without credentials, query or fragment (a Slack hook's path is its secret: only the host stays). */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const secretPath = /hooks\.slack\.com|\/hooks\//.test(parsed.href);
    return `${parsed.protocol}//${parsed.host}${secretPath ? '/…' : parsed.pathname}`;
  } catch {
    return 'an invalid URL';
  }
}
