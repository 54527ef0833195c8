/**
 * The status page for people (`/`): server-rendered HTML, no build step. The live part (engine
 * banner, phase summary, the apps table) is also what `/events` pushes on every change, so the
 * page refreshes itself by swapping that one element; without JavaScript it reloads every 5 s.
 * Pure: everything shown comes in as arguments, and every value is escaped.
 */
import { runningLabel, type AppStatus } from '../status/app-status.js';
import { PHASES } from '../state/types.js';
import { timeAgo } from '../util/age.js';
import type { BerthEvent } from '../events/types.js';

export interface PageView {
  namespace: string;
  apps: AppStatus[];
  /** Set while the controller cannot reach the Docker engine. */
  outage?: string;
  /** `file:line:col: message` per problem in the manifest directory. */
  problems?: string[];
  /** The git source's condition in words, when berth follows a repository. */
  source?: string;
  /** The timeline, newest last. */
  events?: BerthEvent[];
  now: number;
}

/** Deploys listed per app under "history". */
const HISTORY_SHOWN = 5;

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

/** The part `/events` pushes: engine banner, phase summary and the apps table. */
export function renderLive(view: PageView): string {
  const counts = PHASES.map((phase) => [phase, view.apps.filter((app) => app.phase === phase).length] as const).filter(([, n]) => n > 0);
  const summary = counts.map(([phase, n]) => `<span class="phase phase-${phase}">${n} ${phase}</span>`).join(' ');
  const banner = (view.outage === undefined ? '' : `<p class="banner" role="alert">${escapeHtml(view.outage)}</p>\n`) + (view.source === undefined ? '' : `<p class="source">${escapeHtml(view.source)}</p>\n`) + renderProblems(view.problems ?? []);
  if (view.apps.length === 0) return `${banner}<p class="empty">No apps in namespace “${escapeHtml(view.namespace)}” yet: add a manifest to the watched directory.</p>`;
  return `${banner}<p class="summary">${view.apps.length} app${view.apps.length === 1 ? '' : 's'}: ${summary} <span class="updated">updated ${new Date(view.now).toISOString().slice(11, 19)} UTC</span></p>
<table>
<thead><tr><th>App</th><th>Phase</th><th>Desired</th><th>Running</th><th>Last deploy</th><th>Message</th></tr></thead>
<tbody>
${view.apps.map((app) => renderRow(app, view.now, (view.events ?? []).filter((e) => e.app === app.app))).join('\n')}
</tbody>
</table>${renderTimeline(view.events ?? [], view.now)}`;
}

/** The last events, newest first. */
const TIMELINE_SHOWN = 20;
/** Events shown under each app. */
const APP_EVENTS_SHOWN = 10;

function renderAppEvents(events: BerthEvent[], now: number): string {
  if (events.length === 0) return '';
  const items = events.slice(-APP_EVENTS_SHOWN).reverse().map((e) => `<li><time datetime="${e.time}">${timeAgo(now, Date.parse(e.time))}</time> <code>${escapeHtml(e.type)}</code> ${escapeHtml(e.message)}</li>`);
  return `<details class="app-events"><summary>events (${events.length})</summary><ol>${items.join('')}</ol></details>`;
}

function renderTimeline(events: BerthEvent[], now: number): string {
  if (events.length === 0) return '';
  const items = events.slice(-TIMELINE_SHOWN).reverse().map((e) => `<li class="event event-${escapeHtml(e.type.replace('.', '-'))}"><time datetime="${e.time}">${timeAgo(now, Date.parse(e.time))}</time> <code>${escapeHtml(e.type)}</code>${e.app !== undefined ? ` <strong>${escapeHtml(e.app)}</strong>` : ''}: ${escapeHtml(e.message)}</li>`);
  return `<details class="timeline" open><summary>Recent events</summary><ol>${items.join('')}</ol></details>\n`;
}

function renderProblems(problems: string[]): string {
  if (problems.length === 0) return '';
  return `<details class="problems" open><summary>${problems.length} manifest problem${problems.length === 1 ? '' : 's'} (the apps they concern keep their last valid state)</summary><ul>${problems.map((p) => `<li><code>${escapeHtml(p)}</code></li>`).join('')}</ul></details>\n`;
}

function renderRow(app: AppStatus, now: number, events: BerthEvent[] = []): string {
  const running = runningLabel(app, '–');
  const drift = app.desiredTag !== null && app.running.tag !== app.desiredTag;
  const lastDeploy = app.lastDeployAt === null ? '–' : `<time datetime="${app.lastDeployAt}">${timeAgo(now, Date.parse(app.lastDeployAt))}</time>`;
  const error = app.lastError !== null && app.lastError !== app.message ? `<div class="error">last error: ${escapeHtml(app.lastError)}</div>` : '';
  return `<tr id="app-${escapeHtml(app.app)}" data-app="${escapeHtml(app.app)}" data-phase="${escapeHtml(app.phase)}">
<td class="app">${escapeHtml(app.app)}${app.desiredImage ? `<div class="image">${escapeHtml(app.desiredImage)}</div>` : ''}</td>
<td><span class="phase phase-${escapeHtml(app.phase)}">${escapeHtml(app.phase)}</span></td>
<td class="desired">${escapeHtml(app.desiredTag ?? '–')}${app.commit ? `<div class="commit"><code>${escapeHtml(app.commit.sha.slice(0, 7))}</code> ${escapeHtml(app.commit.subject)}</div>` : ''}</td>
<td class="running${drift ? ' drift' : ''}">${escapeHtml(running)}<div class="containers">${app.running.containers.length} container${app.running.containers.length === 1 ? '' : 's'}</div></td>
<td class="age">${lastDeploy}</td>
<td class="message">${escapeHtml(app.message)}${error}${renderCertificates(app)}${renderHistory(app, now)}${renderAppEvents(events, now)}</td>
</tr>`;
}

function renderCertificates(app: AppStatus): string {
  if (app.certificates.length === 0) return '';
  const items = app.certificates.map((c) => {
    const expiry = c.notAfter === null ? '' : `, expires <time datetime="${c.notAfter}">${escapeHtml(c.notAfter.slice(0, 16).replace('T', ' '))} UTC</time>`;
    const issuer = c.issuer === null ? '' : ` by ${escapeHtml(c.issuer)}`;
    const error = c.error === null ? '' : `<div class="error">${escapeHtml(c.error)}</div>`;
    return `<li class="certificate certificate-${escapeHtml(c.state)}">🔒 ${escapeHtml(c.domain)}: ${escapeHtml(c.state)}${issuer}${expiry}${error}</li>`;
  });
  return `<ul class="certificates">${items.join('')}</ul>`;
}

function renderHistory(app: AppStatus, now: number): string {
  if (app.history.length === 0) return '';
  const rows = app.history
    .slice(0, HISTORY_SHOWN)
    .map(
      (deploy) =>
        `<li class="outcome-${deploy.outcome}"><time datetime="${new Date(deploy.at).toISOString()}">${timeAgo(now, deploy.at)}</time> ${escapeHtml(deploy.tag)} ${deploy.outcome} in ${(deploy.durationMs / 1000).toFixed(1)} s${deploy.reason ? `: ${escapeHtml(deploy.reason)}` : ''}</li>`,
    )
    .join('');
  return `<details><summary>history (${app.history.length})</summary><ol>${rows}</ol></details>`;
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
details { font-size: 0.85rem; margin-top: 0.25rem; }
ol { margin: 0.25rem 0; padding-left: 1.25rem; }
.outcome-failed { color: #cf222e; }
.empty { opacity: 0.7; }
.problems { border-left: 4px solid #9a6700; padding: 0.25rem 0.75rem; margin: 0.5rem 0; }
.problems code { white-space: pre-wrap; }
`;

const SCRIPT = `
(() => {
  const live = document.getElementById('live');
  const connection = document.getElementById('connection');
  const source = new EventSource('events');
  source.addEventListener('open', () => { connection.dataset.state = 'live'; connection.textContent = 'live'; });
  source.addEventListener('error', () => { connection.dataset.state = 'lost'; connection.textContent = 'reconnecting…'; });
  source.addEventListener('live', (event) => {
    const open = new Set([...live.querySelectorAll('details[open]')].map((d) => d.closest('tr')?.id));
    live.innerHTML = event.data;
    for (const id of open) live.querySelector('#' + CSS.escape(id) + ' details')?.setAttribute('open', '');
  });
})();
`;
