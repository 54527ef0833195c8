import { readFile } from 'node:fs/promises';
import { everyEvent, parseFilter } from '../events/filter.js';
import { execSink, safeUrl, webhookSink, type Sink } from '../notify/sinks.js';
import { UsageError } from './usage.js';

/**
 * `--notify URL` (repeatable): a JSON webhook; `slack+https://...` (or `mattermost+https://...`) a
 * chat incoming webhook. A URL's fragment filters what it is sent: `#events=deploy.failed,deploy.rolled_back&apps=web`.
 * `--notify-exec CMD` (repeatable) with `--notify-exec-events LIST`; `--notify-secret-file F` signs
 * the JSON webhooks; `--public-url URL` links chat messages to the status page.
 */
export const NOTIFY_FLAGS = {
  notify: { type: 'string', multiple: true, default: [] as string[] },
  'notify-secret-file': { type: 'string' },
  'notify-exec': { type: 'string', multiple: true, default: [] as string[] },
  'notify-exec-events': { type: 'string' },
  'public-url': { type: 'string' },
} as const;

export interface NotifyValues {
  notify: string[];
  'notify-secret-file'?: string | undefined;
  'notify-exec': string[];
  'notify-exec-events'?: string | undefined;
  'public-url'?: string | undefined;
}

export async function notifySinks(values: NotifyValues, now: () => number): Promise<Sink[]> {
  let secret: string | undefined;
  const secretFile = values['notify-secret-file'];
  if (secretFile !== undefined) {
    secret = (await readFile(secretFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`--notify-secret-file ${secretFile}: unreadable (${error.code ?? error.message})`);
    })).trim();
    if (secret === '') throw new UsageError(`--notify-secret-file ${secretFile} is empty`);
  }
  const publicUrl = values['public-url'];
  const sinks: Sink[] = values.notify.map((raw) => {
    const chat = /^(slack|mattermost)\+/.exec(raw);
    const withoutKind = chat ? raw.slice(chat[0].length) : raw;
    const hash = withoutKind.indexOf('#');
    const url = hash < 0 ? withoutKind : withoutKind.slice(0, hash);
    if (!/^https?:\/\/\S+$/.test(url)) throw new UsageError(`--notify ${safeUrl(url)}: not an http(s) URL`);
    const filter = hash < 0 ? everyEvent : filterOf(withoutKind.slice(hash + 1), `--notify ${safeUrl(url)}`);
    return webhookSink({ url, filter, format: chat ? 'chat' : 'json', ...(secret !== undefined && !chat ? { secret } : {}), ...(publicUrl !== undefined ? { publicUrl } : {}), now });
  });
  const execFilter = values['notify-exec-events'] === undefined ? everyEvent : filterOf(`events=${values['notify-exec-events']}`, '--notify-exec-events');
  for (const command of values['notify-exec']) sinks.push(execSink(command, execFilter));
  return sinks;
}

function filterOf(text: string, flag: string) {
  try {
    return parseFilter(text);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
}
