import { everyEvent, parseFilter } from '../events/filter.js';
import { execSink, safeUrl, sinkName, webhookSink, type Sink, type WebhookKind } from '../notify/sinks.js';
import { secretFileText } from './secret-file-flag.js';
import { UsageError } from './usage.js';

/**
 * `--notify URL` (repeatable): a JSON webhook; `slack+https://...` (or `mattermost+https://...`,
 * `discord+https://...`) a chat incoming webhook. A URL's fragment filters what it is sent:
 * `#events=deploy.failed,deploy.rolled_back&apps=web`. A URL with a token need not be on the
 * command line (where `ps` shows it to every user): `--notify-file FILE` (repeatable; one URL per
 * line, `#` comments; a secret file: 0600, berth's user's) and `BERTH_NOTIFY` (URLs separated by
 * spaces or newlines) add theirs. `--notify-exec CMD` (repeatable) with `--notify-exec-events
 * LIST`; `--notify-secret-file F` signs the JSON webhooks; `--public-url URL` links chat messages
 * to the status page.
 */
export const NOTIFY_FLAGS = {
  notify: { type: 'string', multiple: true, default: [] as string[] },
  'notify-file': { type: 'string', multiple: true, default: [] as string[] },
  'notify-secret-file': { type: 'string' },
  'notify-exec': { type: 'string', multiple: true, default: [] as string[] },
  'notify-exec-events': { type: 'string' },
  'public-url': { type: 'string' },
} as const;

export interface NotifyValues {
  notify: string[];
  'notify-file': string[];
  'notify-secret-file'?: string | undefined;
  'notify-exec': string[];
  'notify-exec-events'?: string | undefined;
  'public-url'?: string | undefined;
}

/** One URL given, and where (for messages, which never quote the URL itself). */
interface GivenUrl {
  text: string;
  origin: string;
}

const CHAT_KINDS = /^(slack|mattermost|discord)\+/;

export async function notifySinks(
  values: NotifyValues,
  now: () => number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Sink[]> {
  let secret: string | undefined;
  const secretFile = values['notify-secret-file'];
  if (secretFile !== undefined) {
    secret = (await secretFileText('--notify-secret-file', secretFile)).trim();
    if (secret === '') throw new UsageError(`--notify-secret-file ${secretFile} is empty`);
  }
  const given: GivenUrl[] = values.notify.map((text) => ({ text, origin: '--notify' }));
  for (const file of values['notify-file'])
    given.push(...urlLines(await secretFileText('--notify-file', file), `--notify-file ${file}`));
  for (const text of (env.BERTH_NOTIFY ?? '').split(/\s+/).filter(Boolean))
    given.push({ text, origin: 'BERTH_NOTIFY' });

  const publicUrl = values['public-url'];
  const named = new Map<string, number>();
  const sinks: Sink[] = given.map(({ text, origin }) => {
    const chat = CHAT_KINDS.exec(text);
    const kind: WebhookKind = chat ? (chat[1] as WebhookKind) : 'webhook';
    const withoutKind = chat ? text.slice(chat[0].length) : text;
    const hash = withoutKind.indexOf('#');
    const url = hash < 0 ? withoutKind : withoutKind.slice(0, hash);
    if (!/^https?:\/\/\S+$/.test(url) || safeUrl(url) === 'an invalid URL')
      throw new UsageError(`${origin} ${safeUrl(url)}: not an http(s) URL`);
    const filter = hash < 0 ? everyEvent : filterOf(withoutKind.slice(hash + 1), `${origin} ${sinkName(kind, url)}`);
    // Two sinks on one host are told apart by the order they were given in, never by their paths.
    const base = sinkName(kind, url);
    const seen = (named.get(base) ?? 0) + 1;
    named.set(base, seen);
    const name = seen === 1 ? base : `${base} (${seen})`;
    return webhookSink({
      url,
      filter,
      kind,
      name,
      ...(secret !== undefined && kind === 'webhook' ? { secret } : {}),
      ...(publicUrl !== undefined ? { publicUrl } : {}),
      now,
    });
  });
  const execFilter =
    values['notify-exec-events'] === undefined
      ? everyEvent
      : filterOf(`events=${values['notify-exec-events']}`, '--notify-exec-events');
  for (const command of values['notify-exec']) sinks.push(execSink(command, execFilter));
  return sinks;
}

/** The URLs of a --notify-file: one a line; blank lines and `#` comments (a line's own, or after a space) skipped. */
export function urlLines(text: string, origin: string): GivenUrl[] {
  const urls: GivenUrl[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    if (/\s/.test(line)) throw new UsageError(`${origin}:${index + 1}: one URL per line (a comment starts with #)`);
    urls.push({ text: line, origin: `${origin}:${index + 1}` });
  });
  return urls;
}

function filterOf(text: string, flag: string) {
  try {
    return parseFilter(text);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
}
