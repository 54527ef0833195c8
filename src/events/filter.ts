import { EVENT_TYPES, type BerthEvent, type EventType } from './types.js';

/** Which events a sink wants: by type and by app; an empty list means every one. */
export interface EventFilter {
  types: EventType[];
  apps: string[];
}

export const everyEvent: EventFilter = { types: [], apps: [] };

export function matches(filter: EventFilter, event: BerthEvent): boolean {
  return (
    (filter.types.length === 0 || filter.types.includes(event.type)) &&
    (filter.apps.length === 0 || (event.app !== undefined && filter.apps.includes(event.app)))
  );
}

/**
 * `events=deploy.failed,deploy.rolled_back&apps=web,api` (the fragment of a --notify URL); an
 * unknown event type is an error naming the known ones.
 */
export function parseFilter(text: string): EventFilter {
  const filter: EventFilter = { types: [], apps: [] };
  for (const part of text.split('&').filter(Boolean)) {
    const [key, value = ''] = part.split('=', 2);
    const list = value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean);
    if (key === 'events') {
      for (const type of list)
        if (!(EVENT_TYPES as readonly string[]).includes(type))
          throw new Error(`unknown event type "${type}" (known: ${EVENT_TYPES.join(', ')})`);
      filter.types = list as EventType[];
    } else if (key === 'apps') {
      filter.apps = list;
    } else {
      throw new Error(`unknown filter "${key}" (events=..., apps=...)`);
    }
  }
  return filter;
}
