import { strict as assert } from 'node:assert';
import { diffLive, type LiveModel, type LivePatch } from '../../../src/http/live-patch.js';
import { liveModel, renderLive, type PageView } from '../../../src/http/status-page.js';
import { appStatus, type AppStatus } from '../../../src/status/app-status.js';
import type { AppRecord, DeployRecord } from '../../../src/state/types.js';
import type { BerthEvent } from '../../../src/events/types.js';

const start = Date.parse('2026-11-27T09:00:00Z');
const deploy = (i: number): DeployRecord => ({
  at: start - i * 60_000,
  tag: `v${i}`,
  image: 'dokku/web',
  imageId: `sha256:${String(i).padStart(64, '0')}`,
  revision: `r${i}`,
  outcome: 'succeeded',
  durationMs: 4200,
});
const app = (name: string, patch: Partial<AppRecord> = {}): AppStatus =>
  appStatus(
    name,
    {
      phase: 'Running',
      message: `1 × dokku/${name}:v1 running`,
      since: start - 3_600_000,
      desiredTag: 'v1',
      history: [1, 2, 3, 4, 5, 6].map(deploy),
      ...patch,
    },
    [],
  );
let eventSeq = 0;
const event = (app: string | undefined, message: string, at = start): BerthEvent => ({
  id: `e${++eventSeq}`,
  type: 'deploy.succeeded',
  time: new Date(at).toISOString(),
  namespace: 'dokku',
  ...(app !== undefined ? { app } : {}),
  message,
  details: {},
});

/** Twenty apps with histories and a timeline, as the live feed renders them. */
function view(patch: Partial<PageView> = {}): PageView {
  const apps = Array.from({ length: 20 }, (_, i) => app(`app${String(i).padStart(2, '0')}`));
  return {
    namespace: 'dokku',
    apps,
    events: apps.flatMap((a) => [event(a.app, `${a.app} deployed`), event(a.app, `${a.app} deployed again`)]),
    now: start,
    ...patch,
  };
}
const model = (v: PageView): LiveModel => liveModel(v, 'client');
const scopes = (patch: LivePatch) => new Set([...(patch.set ?? []), ...(patch.prepend ?? [])].map(([scope]) => scope));

describe('live feed diff (what /events sends after the first frame)', () => {
  it("sends nothing when nothing changed, even as time passes (ages are the page's to write)", () => {
    const before = view();
    assert.equal(diffLive(model(before), model({ ...before, now: start + 3_600_000 })), undefined);
  });

  it('sends only the row of the app that changed (its changed cells), its phase, and the summary', () => {
    const before = view();
    const apps = [...before.apps];
    apps[7] = app('app07', { phase: 'Deploying', message: 'deploying dokku/app07:v2', desiredTag: 'v2' });
    const patch = diffLive(model(before), model({ ...before, apps }));
    assert.ok(patch !== undefined && patch !== 'full');
    assert.deepEqual([...scopes(patch)].sort(), ['', 'app-app07']);
    assert.deepEqual(patch.phase, [['app-app07', 'Deploying']]);
    const cells = (patch.set ?? []).filter(([scope]) => scope === 'app-app07').map(([, part, html]) => [part, html]);
    assert.deepEqual(
      cells.map(([part]) => part),
      [1, 2, 5],
      'phase, desired and message: not the name, running, age, history or events',
    );
    assert.match(String(cells[1]?.[1]), /^<td class="desired">v2<\/td>$/);
    const summary = (patch.set ?? []).filter(([scope]) => scope === '');
    assert.deepEqual(
      summary.map(([, part]) => part),
      [1],
      'the summary, not the banner or the timeline',
    );
    assert.match(
      summary[0]?.[2] ?? '',
      /20 apps: <span class="phase phase-Deploying">1 Deploying<\/span> <span class="phase phase-Running">19 Running<\/span>/,
    );
    assert.equal(patch.add, undefined);
    assert.equal(patch.remove, undefined);
    const full = model(before).html.length;
    assert.ok(
      JSON.stringify(patch).length < full / 20,
      `the patch (${JSON.stringify(patch).length} B) is a small part of the whole (${full} B)`,
    );
  });

  it("sends a new event alone: at the head of its app's list and of the timeline, each with its limit", () => {
    const before = view();
    const news = event('app03', 'app03 repaired', start + 1_000);
    const patch = diffLive(model(before), model({ ...before, events: [...(before.events ?? []), news] }));
    assert.ok(patch !== undefined && patch !== 'full');
    assert.equal(patch.set, undefined, 'no part sent whole');
    assert.deepEqual(
      patch.prepend?.map(([scope, part, summary, items, limit]) => [scope, part, summary, items.length, limit]),
      [
        ['', 2, '<summary>Recent events</summary>', 1, 20],
        ['app-app03', 7, '<summary>events (3)</summary>', 1, 3],
      ],
    );
    assert.match(
      patch.prepend?.[0]?.[3][0] ?? '',
      /<time datetime="[^"]+" data-ago><\/time> <code>deploy\.succeeded<\/code> <strong>app03<\/strong>: app03 repaired/,
    );
  });

  it("adds a new app's row whole and removes a gone app's row by id; the summary follows", () => {
    const before = view();
    const apps = [
      ...before.apps.filter((a) => a.app !== 'app05'),
      app('app05b'),
      app('app20', { phase: 'Pending' }),
    ].sort((a, b) => (a.app < b.app ? -1 : 1));
    const patch = diffLive(model(before), model({ ...before, apps }));
    assert.ok(patch !== undefined && patch !== 'full');
    assert.deepEqual(patch.remove, ['app-app05']);
    assert.equal(patch.add?.length, 2);
    assert.match(patch.add?.[0] ?? '', /^<tr id="app-app05b" data-app="app05b" data-phase="Running">[\s\S]*<\/tr>$/);
    assert.match(patch.add?.[1] ?? '', /^<tr id="app-app20" data-app="app20" data-phase="Pending">/);
    assert.deepEqual([...scopes(patch)], [''], 'no other row');
    assert.match(
      patch.set?.[0]?.[2] ?? '',
      /21 apps: <span class="phase phase-Pending">1 Pending<\/span> <span class="phase phase-Running">20 Running/,
    );
  });

  it('sends the whole part when the table appears or goes (no apps ↔ apps), and the banner alone when it changes', () => {
    const empty = { namespace: 'dokku', apps: [], now: start };
    assert.equal(diffLive(model(empty), model(view())), 'full');
    assert.equal(diffLive(model(view()), model(empty)), 'full');
    assert.equal(diffLive(model(empty), model(empty)), undefined);
    const before = view();
    const patch = diffLive(model(before), model({ ...before, outage: 'the engine is gone' }));
    assert.ok(patch !== undefined && patch !== 'full');
    assert.deepEqual(
      patch.set?.map(([scope, part]) => [scope, part]),
      [['', 0]],
    );
    assert.match(
      patch.set?.[0]?.[2] ?? '',
      /^<div id="live-banner"><p class="banner" role="alert">the engine is gone<\/p>/,
    );
  });

  it("sends a list's count alone when only its count or its tail changed (its oldest event left the timeline)", () => {
    const before = view();
    const events = (before.events ?? []).filter((e) => e.message !== 'app04 deployed');
    const patch = diffLive(model(before), model({ ...before, events }));
    assert.ok(patch !== undefined && patch !== 'full');
    assert.equal(patch.set, undefined);
    assert.deepEqual(patch.prepend, [['app-app04', 7, '<summary>events (1)</summary>', [], 1]]);
  });

  it('sends a list whole when its items are not the old ones with new ones at the head', () => {
    const before = view();
    const events = (before.events ?? []).filter((e) => e.message !== 'app19 deployed again');
    const patch = diffLive(model(before), model({ ...before, events }));
    assert.ok(patch !== undefined && patch !== 'full');
    assert.equal(patch.prepend, undefined);
    assert.deepEqual(
      patch.set?.map(([scope, part]) => [scope, part]),
      [
        ['', 2],
        ['app-app19', 7],
      ],
    );
  });

  it('renders the same table for the page as before: the page as served writes its ages itself', () => {
    const html = renderLive(view());
    assert.match(html, /<tr id="app-app00" data-app="app00" data-phase="Running">/);
    assert.match(html, /<time datetime="[^"]+" data-ago>About a minute ago<\/time>/);
    assert.match(html, /updated 09:00:00 UTC/);
    assert.doesNotMatch(
      liveModel(view(), 'client').html,
      /ago<\/time>|updated 09/,
      'what /events sends carries no age',
    );
  });
});
