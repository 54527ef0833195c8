import { stripControl } from '../util/strip-control.js';
import type { BerthEvent } from './types.js';

const ICONS: Partial<Record<BerthEvent['type'], string>> = {
  'deploy.succeeded': '✅',
  'deploy.failed': '❌',
  'deploy.rolled_back': '↩️',
  'postdeploy.failed': '⚠️',
  'engine.lost': '⚠️',
  'app.crash_looping': '🔁',
  'source.failed': '⚠️',
  'source.diverged': '⚠️',
  'manifest.invalid': '⚠️',
};

/** The markup a chat webhook speaks: Slack's mrkdwn (Mattermost's Slack-compatible hooks too), or Discord's markdown. */
export type ChatDialect = 'slack' | 'mattermost' | 'discord';

/** Discord's message limit. */
const DISCORD_LIMIT = 2000;

/**
 * One readable line for chat: the app, what happened, and a link to the status page when berth
 * knows its public URL. What the event says (a commit subject, a container's last line) is text
 * from outside berth: made inert for `dialect` by chatText. Pure.
 */
export function chatLine(event: BerthEvent, publicUrl?: string, dialect: ChatDialect = 'slack'): string {
  const icon = ICONS[event.type] ?? 'ℹ️';
  const text = (said: string) => chatText(said, dialect);
  const status = publicUrl
    ? `${publicUrl.replace(/\/$/, '')}/${event.app !== undefined ? `#app-${encodeURIComponent(event.app)}` : ''}`
    : undefined;
  if (dialect === 'discord') {
    const where =
      event.app !== undefined
        ? `**${text(event.app)}** (${text(event.namespace)})`
        : `berth (${text(event.namespace)})`;
    const link = status ? ` — [status](<${status}>)` : '';
    const said = text(event.message);
    const room = DISCORD_LIMIT - `${icon} ${where}: `.length - link.length;
    return `${icon} ${where}: ${said.length > room ? `${said.slice(0, Math.max(0, room - 1))}…` : said}${link}`;
  }
  const where =
    event.app !== undefined ? `*${text(event.app)}* (${text(event.namespace)})` : `berth (${text(event.namespace)})`;
  const link = status ? ` — <${status}|status>` : '';
  return `${icon} ${where}: ${text(event.message)}${link}`;
}

/**
 * `text` made inert in a chat line: terminal control stripped (stripControl; newlines and tabs
 * stay), every `@name` broken by a zero-width space so no mention (`@channel`, `@here`,
 * `@everyone`, `@user`) pings anyone, and the markup escaped: for Slack and Mattermost `&`, `<`
 * and `>` as `&amp;` `&lt;` `&gt;` (so `<!channel>`, `<@U123>` and `<url|text>` are plain text),
 * for Discord each markdown character behind a backslash (and its payload allows no mentions).
 * Pure.
 */
export function chatText(text: string, dialect: ChatDialect): string {
  const plain = stripControl(text).replace(/(^|[^\p{L}\p{N}_.@+-])@(?=[\p{L}\p{N}_])/gu, '$1@\u200b');
  if (dialect === 'discord') return plain.replace(/[\\*_~`|<>[\]]/g, '\\$&').replace(/^([#-])/gm, '\\$1');
  return plain.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
