import type { BerthEvent } from './types.js';

const ICONS: Partial<Record<BerthEvent['type'], string>> = {
  'deploy.succeeded': '✅',
  'deploy.failed': '❌',
  'deploy.rolled_back': '↩️',
  'engine.lost': '⚠️',
  'source.failed': '⚠️',
  'manifest.invalid': '⚠️',
};

/** One readable line for chat: the app, what happened, and a link to the status page when berth knows its public URL. Pure. */
export function chatLine(event: BerthEvent, publicUrl?: string): string {
  const icon = ICONS[event.type] ?? 'ℹ️';
  const where = event.app !== undefined ? `*${event.app}* (${event.namespace})` : `berth (${event.namespace})`;
  const link = publicUrl ? ` — <${publicUrl.replace(/\/$/, '')}/${event.app !== undefined ? `#app-${encodeURIComponent(event.app)}` : ''}|status>` : '';
  return `${icon} ${where}: ${event.message}${link}`;
}
