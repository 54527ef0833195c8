/**
 * The status page for people (`/`): server-rendered HTML, no build step. The live part (engine
 * banner, phase summary, the apps table, the timeline) is what `/events` keeps up to date: the
 * whole part once, then what changed (live-patch.ts), which the page's script swaps in place; it
 * also writes every age from its `<time datetime>`, so that time passing costs no traffic.
 * Without JavaScript the page reloads every 5 s, its ages written by the server.
 * Pure: everything shown comes in as arguments, and every value is escaped.
 */
import { runningLabel, type AppStatus } from '../status/app-status.js';
import { nodeLabel, revisionLabel, replicaSummary, type ReplicaStatus } from '../status/replicas.js';
import { PHASES } from '../state/types.js';
import { timeAgo } from '../util/age.js';
import type { BerthEvent } from '../events/types.js';
import type { Commit } from '../source/types.js';
import type { LiveList, LiveModel, LiveRow } from './live-patch.js';

export interface PageView {
  namespace: string;
  apps: AppStatus[];
  /** Set while the controller cannot reach the Docker engine. */
  outage?: string;
  /** `file:line:col: message` per problem in the manifest directory. */
  problems?: string[];
  /** The git source's condition in words, when berth follows a repository. */
  source?: string;
  /** On Swarm with leader election: this replica's role and the lease, in words. */
  lease?: string;
  /** The timeline, newest last. */
  events?: BerthEvent[];
  now: number;
}

/** Deploys listed per app under "history". */
const HISTORY_SHOWN = 5;

/** Who writes ages: the server (the page as served, read without JavaScript), or the page's script (what /events sends). */
type Ages = 'server' | 'client';

export function renderStatusPage(view: PageView): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>berth · ${escapeHtml(view.namespace)}</title>
<noscript><meta http-equiv="refresh" content="5"></noscript>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>berth <span class="namespace">${escapeHtml(view.namespace)}</span></h1>
<span id="connection" class="connection" data-state="static">live updates need JavaScript; reloading every 5 s</span>
</header>
<main id="live">
${renderLive(view)}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** The live part: engine banner, phase summary, the apps table and the timeline. */
export function renderLive(view: PageView, ages: Ages = 'server'): string {
  return liveModel(view, ages).html;
}

/** The live part as the parts /events sends one at a time (live-patch.ts); its `html` is renderLive's. */
export function liveModel(view: PageView, ages: Ages = 'server'): LiveModel {
  const { now } = view;
  const counts = PHASES.map((phase) => [phase, view.apps.filter((app) => app.phase === phase).length] as const).filter(
    ([, n]) => n > 0,
  );
  const phases = counts.map(([phase, n]) => `<span class="phase phase-${phase}">${n} ${phase}</span>`).join(' ');
  const banner = `<div id="live-banner">${view.outage === undefined ? '' : `<p class="banner" role="alert">${escapeHtml(view.outage)}</p>\n`}${view.source === undefined ? '' : `<p class="source">${escapeHtml(view.source)}</p>\n`}${view.lease === undefined ? '' : `<p class="source lease">${escapeHtml(view.lease)}</p>\n`}${renderProblems(view.problems ?? [])}</div>\n`;
  if (view.apps.length === 0) {
    const empty = `<p class="empty">No apps in namespace “${escapeHtml(view.namespace)}” yet: add a manifest to the watched directory.</p>`;
    return { now, empty, parts: [banner], rows: [], html: `${banner}${empty}` };
  }
  const updated = ages === 'server' ? `updated ${new Date(now).toISOString().slice(11, 19)} UTC` : '';
  const summary = `<p class="summary" id="live-summary">${view.apps.length} app${view.apps.length === 1 ? '' : 's'}: ${phases} <span class="updated" id="live-updated">${updated}</span></p>`;
  const events = view.events ?? [];
  const byApp = new Map<string, BerthEvent[]>();
  for (const event of events) {
    if (event.app === undefined) continue;
    const own = byApp.get(event.app);
    if (own) own.push(event);
    else byApp.set(event.app, [event]);
  }
  const rows = view.apps.map((app) => liveRow(app, now, byApp.get(app.app) ?? [], ages));
  const timeline = renderTimeline(events, now, ages);
  const html = `${banner}${summary}
<table>
<thead><tr><th>App</th><th>Phase</th><th>Desired</th><th>Running</th><th>Last deploy</th><th>Message</th></tr></thead>
<tbody>
${rows.map((row) => row.html).join('\n')}
</tbody>
</table>${timeline.html}\n`;
  return { now, parts: [banner, summary, timeline], rows, html };
}

/** A `<time>` the page's script keeps true (data-ago); its text is left to the script in what /events sends. */
function ago(iso: string, now: number, ages: Ages): string {
  return `<time datetime="${escapeHtml(iso)}" data-ago>${ages === 'server' ? timeAgo(now, Date.parse(iso)) : ''}</time>`;
}

/** A list that grows at its head, as a `<details>` (hidden while empty, so that its place stays). */
function list(attributes: string, summary: string, keys: string[], items: string[]): LiveList {
  const html = `<details ${attributes}${items.length === 0 ? ' hidden' : ''}>${summary}<ol>${items.join('')}</ol></details>`;
  return { html, summary, keys, items };
}

/** The last events, newest first. */
const TIMELINE_SHOWN = 20;
/** Events shown under each app. */
const APP_EVENTS_SHOWN = 10;

function renderAppEvents(id: string, events: BerthEvent[], now: number, ages: Ages): LiveList {
  const shown = events.slice(-APP_EVENTS_SHOWN).reverse();
  const items = shown.map(
    (e) => `<li>${ago(e.time, now, ages)} <code>${escapeHtml(e.type)}</code> ${escapeHtml(e.message)}</li>`,
  );
  return list(
    `class="app-events" id="${id}--events"`,
    `<summary>events (${events.length})</summary>`,
    shown.map((e) => e.id),
    items,
  );
}

function renderTimeline(events: BerthEvent[], now: number, ages: Ages): LiveList {
  const shown = events.slice(-TIMELINE_SHOWN).reverse();
  const items = shown.map(
    (e) =>
      `<li class="event event-${escapeHtml(e.type.replace('.', '-'))}">${ago(e.time, now, ages)} <code>${escapeHtml(e.type)}</code>${e.app !== undefined ? ` <strong>${escapeHtml(e.app)}</strong>` : ''}: ${escapeHtml(e.message)}</li>`,
  );
  return list(
    'class="timeline" id="live-timeline" open',
    '<summary>Recent events</summary>',
    shown.map((e) => e.id),
    items,
  );
}

function renderProblems(problems: string[]): string {
  if (problems.length === 0) return '';
  return `<details class="problems" id="live-problems" open><summary>${problems.length} manifest problem${problems.length === 1 ? '' : 's'} (the apps they concern keep their last valid state)</summary><ul>${problems.map((p) => `<li><code>${escapeHtml(p)}</code></li>`).join('')}</ul></details>\n`;
}

function liveRow(app: AppStatus, now: number, events: BerthEvent[], ages: Ages): LiveRow {
  const id = `app-${escapeHtml(app.app)}`;
  const running = runningLabel(app, '–');
  const drift = app.desiredTag !== null && app.running.tag !== app.desiredTag;
  const lastDeploy = app.lastDeployAt === null ? '–' : ago(app.lastDeployAt, now, ages);
  const error =
    app.lastError !== null && app.lastError !== app.message
      ? `<div class="error">last error: ${escapeHtml(app.lastError)}</div>`
      : '';
  const cells = [
    `<td class="app">${escapeHtml(app.app)}${app.desiredImage ? `<div class="image">${escapeHtml(app.desiredImage)}</div>` : ''}</td>`,
    `<td><span class="phase phase-${escapeHtml(app.phase)}">${escapeHtml(app.phase)}</span></td>`,
    `<td class="desired">${escapeHtml(app.desiredTag ?? '–')}${renderCommits(app.commit, app.changedBy)}</td>`,
    `<td class="running${drift ? ' drift' : ''}">${escapeHtml(running)}${renderReplicas(app)}</td>`,
    `<td class="age">${lastDeploy}</td>`,
  ];
  const head = `<div class="message-head">${escapeHtml(app.message)}${error}${renderCertificates(app)}${renderImagePolicy(app, now, ages)}${renderCanary(app, now, ages)}</div>`;
  const history = renderHistory(id, app, now, ages);
  const appEvents = renderAppEvents(id, events, now, ages);
  const html = `<tr id="${id}" data-app="${escapeHtml(app.app)}" data-phase="${escapeHtml(app.phase)}">
${cells.join('\n')}
<td class="message">${head}${history.html}${appEvents.html}</td>
</tr>`;
  return { id, app: app.app, phase: app.phase, parts: [...cells, head, history, appEvents], html };
}

/**
 * Under what runs: on one host the number of containers; on Swarm how many tasks run where, then
 * each task with its node (hostname and address), state, revision and error.
 */
function renderReplicas(app: AppStatus): string {
  if (app.runtime !== 'swarm') {
    const count = app.running.containers.length;
    return `<div class="containers">${count} container${count === 1 ? '' : 's'}</div>`;
  }
  const tasks = app.replicas.map((task) => `<li class="task task-${escapeHtml(task.state)}">${renderTask(task)}</li>`);
  return `<div class="containers">${escapeHtml(replicaSummary(app.replicas))}</div>${tasks.length > 0 ? `<ul class="tasks">${tasks.join('')}</ul>` : ''}`;
}

/** `web.1 running on node-a 10.0.0.5 · v2`, and the task's error under it. */
function renderTask(task: ReplicaStatus): string {
  const stopping = task.desiredState !== null && task.desiredState !== 'running' ? ` (to ${task.desiredState})` : '';
  const where = task.node
    ? ` on <span class="node" title="node ${escapeHtml(task.node.id)}">${escapeHtml(nodeLabel(task.node))}</span>${task.node.address ? ` ${escapeHtml(task.node.address)}` : ''}`
    : ' (not placed yet)';
  const revision = revisionLabel(task);
  const error = task.error !== null ? `<div class="error">${escapeHtml(task.error)}</div>` : '';
  return `${escapeHtml(task.name)} ${escapeHtml(task.state)}${escapeHtml(stopping)}${where} · ${escapeHtml(revision)}${error}`;
}

/** The commit of the tree the serving deploy was read from, and, when another, the commit that last changed the app's manifest file. */
/** The app's image policy: its newest matching tag, when berth last looked, and why the tag stays, if it does. */
function renderImagePolicy(app: AppStatus, now: number, ages: Ages): string {
  const policy = app.imagePolicy;
  if (!policy) return '';
  const looked = policy.lastLookAt === null ? 'not looked yet' : `looked ${ago(policy.lastLookAt, now, ages)}`;
  const why = policy.error ?? policy.waiting;
  return `<div class="image-policy${policy.error !== null ? ' error' : ''}">image policy ${escapeHtml(policy.policy)}: newest ${escapeHtml(policy.newest ?? '–')}, ${looked}${why ? `; ${escapeHtml(why)}` : ''}</div>`;
}

/**
 * The canary under way: its step, the share of requests the new revision takes, since when, and
 * the numbers of its last judgement (`canary step 2: 25% to v2 for 12 seconds; 3 errors in 412
 * requests (0.73%), p95 120 ms; 25%: 412 of 50 requests`).
 */
function renderCanary(app: AppStatus, now: number, ages: Ages): string {
  const canary = app.canary;
  if (!canary) return '';
  const since = ago(canary.stepStartedAt, now, ages);
  const numbers = canary.numbers
    ? `; ${canary.numbers.errors} error${canary.numbers.errors === 1 ? '' : 's'} in ${canary.numbers.requests} request${canary.numbers.requests === 1 ? '' : 's'} (${canary.numbers.errorRate.toFixed(2)}%)${canary.numbers.p95Ms !== undefined ? `, p95 ${Math.round(canary.numbers.p95Ms)} ms` : ''}`
    : '';
  const reason = canary.reason !== null ? `; ${escapeHtml(canary.reason)}` : '';
  return `<div class="canary">canary step ${canary.step}: ${canary.percent}% to ${escapeHtml(app.desiredTag ?? canary.revision)}, step began ${since}${numbers}${reason}</div>`;
}

/** The commit of the tree the serving revision's manifest was read from, and, when another, the commit that last changed the app's manifest file. */
function renderCommits(commit: Commit | null, changedBy: Commit | null): string {
  if (!commit) return '';
  const line = (c: Commit, label: string) =>
    `<div class="commit"${label ? ` title="${label}"` : ''}><code>${escapeHtml(c.sha.slice(0, 7))}</code> ${escapeHtml(c.subject)}</div>`;
  if (!changedBy || changedBy.sha === commit.sha) return line(commit, '');
  return `${line(commit, 'the commit the manifests were read from')}<div class="commit changed-by" title="the commit that last changed the app's manifest file">changed by <code>${escapeHtml(changedBy.sha.slice(0, 7))}</code> ${escapeHtml(changedBy.subject)}</div>`;
}

function renderCertificates(app: AppStatus): string {
  if (app.certificates.length === 0) return '';
  const items = app.certificates.map((c) => {
    const expiry =
      c.notAfter === null
        ? ''
        : `, expires <time datetime="${c.notAfter}">${escapeHtml(c.notAfter.slice(0, 16).replace('T', ' '))} UTC</time>`;
    const issuer = c.issuer === null ? '' : ` by ${escapeHtml(c.issuer)}`;
    const error = c.error === null ? '' : `<div class="error">${escapeHtml(c.error)}</div>`;
    return `<li class="certificate certificate-${escapeHtml(c.state)}">🔒 ${escapeHtml(c.domain)}: ${escapeHtml(c.state)}${issuer}${expiry}${error}</li>`;
  });
  return `<ul class="certificates">${items.join('')}</ul>`;
}

function renderHistory(id: string, app: AppStatus, now: number, ages: Ages): LiveList {
  const shown = app.history.slice(0, HISTORY_SHOWN);
  const rows = shown.map(
    (deploy) =>
      `<li class="outcome-${deploy.outcome}">${ago(new Date(deploy.at).toISOString(), now, ages)} ${escapeHtml(deploy.tag)} ${deploy.outcome.replace('_', ' ')} in ${(deploy.durationMs / 1000).toFixed(1)} s${deploy.reason ? `: ${escapeHtml(deploy.reason)}` : ''}${deploy.commit ? ` from <code title="${escapeHtml(deploy.commit.subject)}">${escapeHtml(deploy.commit.sha.slice(0, 7))}</code>` : ''}${deploy.changedBy && deploy.changedBy.sha !== deploy.commit?.sha ? ` (manifest changed by <code title="${escapeHtml(deploy.changedBy.subject)}">${escapeHtml(deploy.changedBy.sha.slice(0, 7))}</code>)` : ''}</li>`,
  );
  return list(
    `class="history" id="${id}--history"`,
    `<summary>history (${app.history.length})</summary>`,
    shown.map((deploy) => `${deploy.at}:${deploy.revision}:${deploy.outcome}`),
    rows,
  );
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0 auto; max-width: 1200px; padding: 1rem 1.5rem; }
header { display: flex; align-items: baseline; justify-content: space-between; gap: 1rem; }
h1 { font-size: 1.4rem; margin: 0.5rem 0; }
.namespace { font-weight: normal; opacity: 0.7; }
.connection { font-size: 0.8rem; opacity: 0.7; }
.connection[data-state="live"]::before { content: "● "; color: #1a7f37; }
.connection[data-state="lost"]::before { content: "● "; color: #cf222e; }
.summary { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
.updated { margin-left: auto; font-size: 0.8rem; opacity: 0.7; }
.banner { background: #cf222e; color: white; padding: 0.5rem 0.75rem; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.45rem 0.6rem; border-bottom: 1px solid #8884; vertical-align: top; }
th { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em; opacity: 0.7; }
.app { font-weight: 600; }
.image, .containers { font-weight: normal; font-size: 0.8rem; opacity: 0.7; }
.tasks { list-style: none; margin: 0.25rem 0 0; padding: 0; font-size: 0.8rem; }
.tasks .error { white-space: normal; }
.task-running { opacity: 0.85; }
.task .node { font-weight: 600; }
.desired, .running { font-family: ui-monospace, monospace; }
.desired, .running, .age { white-space: nowrap; }
.drift { color: #bc4c00; }
.phase { display: inline-block; padding: 0.1rem 0.5rem; border-radius: 999px; font-size: 0.8rem; font-weight: 600; color: white; }
.phase-Running { background: #1a7f37; }
.phase-Deploying { background: #0969da; }
.phase-Pending { background: #9a6700; }
.phase-Degraded { background: #bc4c00; }
.phase-Failed { background: #cf222e; }
.phase-Invalid { background: #8250df; }
.error { color: #cf222e; font-size: 0.85rem; margin-top: 0.25rem; }
.canary { color: #0969da; font-size: 0.85rem; margin-top: 0.25rem; }
details { font-size: 0.85rem; margin-top: 0.25rem; }
ol { margin: 0.25rem 0; padding-left: 1.25rem; }
.outcome-failed { color: #cf222e; }
.outcome-rolled_back { color: #bc4c00; }
.empty { opacity: 0.7; }
.problems { border-left: 4px solid #9a6700; padding: 0.25rem 0.75rem; margin: 0.5rem 0; }
.problems code { white-space: pre-wrap; }
`;

/**
 * The page's script: takes the live part whole (`live`), then what changed (`patch`, live-patch.ts),
 * keeps every `<details>` open or closed as the reader left it, and writes every age from its
 * `<time datetime>` against the server's clock (`tick` and `patch` carry it). A patch that does not
 * fit the page (a part missing) reconnects, which sends the whole part again.
 */
const SCRIPT = `
(() => {
  const live = document.getElementById('live');
  const connection = document.getElementById('connection');
  const LIVE_PARTS = ['#live-banner', '#live-summary', '#live-timeline'];
  const ROW_PARTS = [1, 2, 3, 4, 5].map((n) => ':scope > td:nth-child(' + n + ')').concat([':scope .message-head', ':scope details.history', ':scope details.app-events']);
  let skew = 0;
  const ago = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    const plural = (n, unit) => n + ' ' + unit + (n === 1 ? '' : 's') + ' ago';
    if (s < 60) return plural(s, 'second');
    if (s < 120) return 'About a minute ago';
    if (s < 3600) return plural(Math.floor(s / 60), 'minute');
    if (s < 172800) return plural(Math.floor(s / 3600), 'hour');
    return plural(Math.floor(s / 86400), 'day');
  };
  const ages = () => {
    const now = Date.now() + skew;
    for (const time of live.querySelectorAll('time[data-ago]')) {
      const text = ago(now - Date.parse(time.getAttribute('datetime')));
      if (time.textContent !== text) time.textContent = text;
    }
  };
  const clock = (now) => {
    skew = now - Date.now();
    const updated = document.getElementById('live-updated');
    if (updated) updated.textContent = 'updated ' + new Date(now).toISOString().slice(11, 19) + ' UTC';
    ages();
  };
  setInterval(ages, 10000);
  const parse = (html) => {
    const template = document.createElement('template');
    template.innerHTML = html;
    return template.content;
  };
  const folds = (element) => [...(element.matches('details[id]') ? [element] : []), ...element.querySelectorAll('details[id]')].map((d) => [d.id, d.open]);
  const unfold = (states) => {
    for (const [id, open] of states) {
      const details = document.getElementById(id);
      if (details) details.open = open;
    }
  };
  const swap = (element, html) => {
    const states = folds(element);
    element.replaceWith(parse(html));
    unfold(states);
  };
  const part = (scope, index) => (scope === '' ? live.querySelector(LIVE_PARTS[index]) : document.getElementById(scope)?.querySelector(ROW_PARTS[index]));
  let source;
  const connect = () => {
    source = new EventSource('events');
    source.addEventListener('open', () => { connection.dataset.state = 'live'; connection.textContent = 'live'; });
    source.addEventListener('error', () => { connection.dataset.state = 'lost'; connection.textContent = 'reconnecting…'; });
    source.addEventListener('live', (event) => {
      const states = folds(live);
      live.innerHTML = event.data;
      unfold(states);
      ages();
    });
    source.addEventListener('tick', (event) => clock(JSON.parse(event.data).now));
    source.addEventListener('patch', (event) => {
      const patch = JSON.parse(event.data);
      try {
        for (const id of patch.remove ?? []) document.getElementById(id)?.remove();
        for (const html of patch.add ?? []) {
          const row = parse(html).firstElementChild;
          const body = live.querySelector('tbody');
          body.insertBefore(row, [...body.rows].find((r) => r.dataset.app > row.dataset.app) ?? null);
        }
        for (const [id, phase] of patch.phase ?? []) document.getElementById(id).dataset.phase = phase;
        for (const [scope, index, html] of patch.set ?? []) swap(part(scope, index), html);
        for (const [scope, index, summary, items, length] of patch.prepend ?? []) {
          const list = part(scope, index);
          list.querySelector('summary').replaceWith(parse(summary));
          const ol = list.querySelector('ol');
          ol.prepend(parse(items.join('')));
          while (ol.children.length > length) ol.lastElementChild.remove();
        }
      } catch {
        // The page and the server disagree: start again from the whole part.
        source.close();
        connect();
        return;
      }
      clock(patch.now);
    });
  };
  connect();
})();
`;
