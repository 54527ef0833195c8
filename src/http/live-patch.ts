/**
 * The live part of the status page as parts a page can swap one at a time, and what changed
 * between two renders of it. `/events` sends a page the whole part once (`live`), then only what
 * changed (`patch`): the banner, the summary, the rows of the apps that changed (a row's cells
 * one by one, a list's new items only), rows added and removed. Ages are written by the page's
 * script from each `<time datetime>`, so a render that only moves the clock changes nothing.
 * Pure.
 */

/** A list that grows at its head (newest first): a new item is sent alone, and the page trims the list to what it shows. */
export interface LiveList {
  /** The whole element (a `<details>` with its `<summary>` and `<ol>`), as the page shows it. */
  html: string;
  /** The `<summary>` alone (it carries the count). */
  summary: string;
  /** Newest first. */
  keys: string[];
  items: string[];
}

/** A part is an element the page finds by its position (LIVE_PARTS, ROW_PARTS in the page's script) and replaces whole, or a list. */
type LivePart = string | LiveList;

export interface LiveRow {
  /** The `<tr>`'s id, `app-NAME`. */
  id: string;
  app: string;
  phase: string;
  /** In ROW_PARTS order: the five cells before the message, then the message's head, history and events. */
  parts: LivePart[];
  /** The whole `<tr>`. */
  html: string;
}

export interface LiveModel {
  now: number;
  /** Set when there are no apps: the live part is the banner and this note. */
  empty?: string;
  /** In LIVE_PARTS order: banner, summary, timeline. */
  parts: LivePart[];
  /** Sorted by app. */
  rows: LiveRow[];
  /** The whole live part. */
  html: string;
}

/** `[scope, part, html]`: replace the part (scope '' is the live part itself, else a row's id). */
type SetOp = [scope: string, part: number, html: string];
/** `[scope, part, summary, items, length]`: put `items` (maybe none) at the head of the part's list, keep its first `length` items, replace its summary. */
type PrependOp = [scope: string, part: number, summary: string, items: string[], length: number];

/** A `patch` frame. */
export interface LivePatch {
  now: number;
  set?: SetOp[];
  prepend?: PrependOp[];
  /** `[row id, phase]`: the row's `data-phase`. */
  phase?: [string, string][];
  /** New rows (whole `<tr>`s); the page puts each in app order. */
  add?: string[];
  /** Row ids. */
  remove?: string[];
}

/** What changed from `before` to `after`: a patch, 'full' when the page must take the whole part again, undefined when nothing changed. */
export function diffLive(before: LiveModel, after: LiveModel): LivePatch | 'full' | undefined {
  if (before.empty !== undefined || after.empty !== undefined) return before.html === after.html ? undefined : 'full';
  const patch: LivePatch = { now: after.now };
  diffParts('', before.parts, after.parts, patch);
  const old = new Map(before.rows.map((row) => [row.id, row]));
  const kept = new Set(after.rows.map((row) => row.id));
  for (const row of before.rows) if (!kept.has(row.id)) (patch.remove ??= []).push(row.id);
  for (const row of after.rows) {
    const was = old.get(row.id);
    if (!was) {
      (patch.add ??= []).push(row.html);
      continue;
    }
    if (was.html === row.html) continue;
    if (was.phase !== row.phase) (patch.phase ??= []).push([row.id, row.phase]);
    diffParts(row.id, was.parts, row.parts, patch);
  }
  return Object.keys(patch).length === 1 ? undefined : patch;
}

function diffParts(scope: string, before: LivePart[], after: LivePart[], patch: LivePatch): void {
  after.forEach((part, index) => {
    const was = before[index];
    if (was !== undefined && html(was) === html(part)) return;
    const fresh =
      was !== undefined && typeof was !== 'string' && typeof part !== 'string' ? newHead(was, part) : undefined;
    if (fresh !== undefined && typeof part !== 'string')
      (patch.prepend ??= []).push([scope, index, part.summary, fresh, part.items.length]);
    else (patch.set ??= []).push([scope, index, html(part)]);
  });
}

/**
 * The items `after` has at its head before what `before` showed (none, when only its count or
 * its tail changed), when the rest is the head of what `before` showed; undefined otherwise.
 */
function newHead(before: LiveList, after: LiveList): string[] | undefined {
  if (before.items.length === 0 || after.items.length === 0) return undefined;
  const at = after.keys.indexOf(before.keys[0] ?? '');
  if (at < 0) return undefined;
  for (let i = at; i < after.keys.length; i++) {
    if (after.keys[i] !== before.keys[i - at] || after.items[i] !== before.items[i - at]) return undefined;
  }
  return after.items.slice(0, at);
}

function html(part: LivePart): string {
  return typeof part === 'string' ? part : part.html;
}
