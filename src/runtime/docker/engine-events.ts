/**
 * berth's reading of one engine event (API >= 1.22 shape: Type, Action, Actor.ID,
 * Actor.Attributes). Container events count only for containers labelled `berth.managed=true` and
 * `berth.namespace=<namespace>` (the attributes carry the container's labels); exec events are
 * noise and dropped; `health_status: healthy` becomes `health_status`. Image events (which carry
 * no labels) all count: a tag a waiting manifest names may appear from anywhere.
 */
import { LABEL_APP, LABEL_MANAGED, LABEL_NAMESPACE, type RuntimeEvent } from '../types.js';

interface EngineEvent {
  Type?: unknown;
  Action?: unknown;
  Actor?: { ID?: unknown; Attributes?: Record<string, unknown> };
}

export function runtimeEventOf(value: unknown, namespace: string): RuntimeEvent | undefined {
  const event = (value ?? {}) as EngineEvent;
  const id = typeof event.Actor?.ID === 'string' ? event.Actor.ID : '';
  const attributes = event.Actor?.Attributes ?? {};
  const action = typeof event.Action === 'string' ? (event.Action.split(':')[0]?.trim() ?? '') : '';
  if (id === '' || action === '') return undefined;

  if (event.Type === 'container') {
    if (action.startsWith('exec_')) return undefined;
    if (attributes[LABEL_MANAGED] !== 'true' || attributes[LABEL_NAMESPACE] !== namespace) return undefined;
    const app = attributes[LABEL_APP];
    return { kind: 'container', action, id, namespace, ...(typeof app === 'string' ? { app } : {}) };
  }
  if (event.Type === 'image') {
    const name = attributes.name;
    return { kind: 'image', action, id, ref: typeof name === 'string' && name !== '' ? name : id };
  }
  return undefined;
}
