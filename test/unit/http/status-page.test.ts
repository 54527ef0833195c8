import { strict as assert } from 'node:assert';
import { renderLive, renderStatusPage } from '../../../src/http/status-page.js';
import { appStatus } from '../../../src/status/app-status.js';
import type { AppRecord } from '../../../src/state/types.js';
import { containerOf, testApp } from '../../support/apps.js';
import { TWO_NODES, taskOf } from '../../support/tasks.js';

const now = Date.parse('2026-11-27T09:00:00Z');
const record = (patch: Partial<AppRecord>): AppRecord => ({
  phase: 'Running',
  message: '1 × dokku/web:v1 running',
  since: now - 60_000,
  history: [],
  ...patch,
});

describe('status page (rendering)', () => {
  it('renders one row per app with its phase as a coloured badge, desired and running tag, last deploy and history', () => {
    const app = testApp('web');
    const container = containerOf(app, 'sha256:aaa');
    const web = appStatus(
      'web',
      record({
        desiredTag: 'v2',
        desiredImage: 'dokku/web',
        servingImageId: 'sha256:aaa',
        servingTag: 'v1',
        phase: 'Deploying',
        message: 'deploying dokku/web:v2',
        history: [
          {
            at: now - 180_000,
            tag: 'v1',
            image: 'dokku/web',
            imageId: 'sha256:aaa',
            revision: 'r1',
            outcome: 'succeeded',
            durationMs: 4200,
          },
        ],
      }),
      [container],
    );
    const html = renderLive({ namespace: 'dokku', apps: [web], now });
    assert.match(html, /<tr id="app-web" data-app="web" data-phase="Deploying">/);
    assert.match(html, /<span class="phase phase-Deploying">Deploying<\/span>/);
    assert.match(html, /<td class="desired">v2<\/td>/);
    assert.match(html, /<td class="running drift">v1/, 'a running tag that differs from the desired one is marked');
    assert.match(html, /3 minutes ago/);
    assert.match(html, /history \(1\).*v1 succeeded in 4\.2 s/s);
    assert.match(html, /1 app: <span class="phase phase-Deploying">1 Deploying<\/span>/);
  });

  it('on Swarm, lists each task under what runs: where (hostname, address), its state, its tag and its error', () => {
    const [alpha, beta] = TWO_NODES as [(typeof TWO_NODES)[0], (typeof TWO_NODES)[0]];
    const web = appStatus(
      'web',
      record({ desiredTag: 'v2', servingRevision: 'h2@sha256:d2', servingTag: 'v2', phase: 'Degraded' }),
      {
        tasks: [
          taskOf({ id: 't1', slot: 1, nodeId: alpha.id }),
          taskOf({ id: 't2', slot: 2, nodeId: beta.id, state: 'starting', error: 'task: non-zero exit (1) <oops>' }),
        ],
        nodes: TWO_NODES,
      },
    );
    const html = renderLive({ namespace: 'dokku', apps: [web], now });
    assert.match(html, /<div class="containers">1\/2 running on alpha<\/div>/);
    assert.match(
      html,
      /<li class="task task-running">web\.1 running on <span class="node" title="node node-manager-0000000000001">alpha<\/span> 10\.0\.0\.5 · v2<\/li>/,
    );
    assert.match(
      html,
      /<li class="task task-starting">web\.2 starting on <span class="node" [^>]*>beta<\/span> 10\.0\.0\.6 · v2<div class="error">task: non-zero exit \(1\) &lt;oops&gt;<\/div><\/li>/,
    );
  });

  it('shows a canary under way: its step, its share, and the numbers it was last judged on', () => {
    const app = testApp('web');
    const web = appStatus(
      'web',
      record({
        desiredTag: 'v2',
        servingTag: 'v1',
        phase: 'Deploying',
        canary: {
          revision: 'r2',
          stableRevision: 'r1',
          step: 1,
          percent: 25,
          startedAt: now - 40_000,
          stepStartedAt: now - 12_000,
          reason: '25%: 12 of 50 requests <so far>',
          numbers: { requests: 12, errors: 1, errorRate: 8.333, p95Ms: 119.6 },
        },
      }),
      [containerOf(app, 'sha256:aaa')],
    );
    const html = renderLive({ namespace: 'dokku', apps: [web], now });
    assert.match(
      html,
      /<div class="canary">canary step 2: 25% to v2, step began <time [^>]*>12 seconds ago<\/time>; 1 error in 12 requests \(8\.33%\), p95 120 ms; 25%: 12 of 50 requests &lt;so far&gt;<\/div>/,
    );
    const steady = renderLive({ namespace: 'dokku', apps: [appStatus('web', record({}), [])], now });
    assert.doesNotMatch(steady, /class="canary"/, 'no canary line while none runs');
  });

  it('escapes everything that comes from manifests, state or the engine', () => {
    const evil = appStatus(
      'web',
      record({ phase: 'Failed', message: '<script>alert(1)</script>', lastError: 'x" onmouseover="y' }),
      [],
    );
    const html = renderStatusPage({ namespace: 'a&b', apps: [evil], now, outage: '<b>down</b>' });
    assert.ok(!html.includes('<script>alert(1)'), 'no markup from a message');
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(html, /last error: x&quot; onmouseover=&quot;y/);
    assert.match(html, /<p class="banner" role="alert">&lt;b&gt;down&lt;\/b&gt;<\/p>/);
    assert.match(html, /<title>berth · a&amp;b<\/title>/);
    const withProblem = renderLive({ namespace: 'dokku', apps: [], now, problems: ['web.yaml:3:7: <bad> key'] });
    assert.match(withProblem, /1 manifest problem .*<code>web\.yaml:3:7: &lt;bad&gt; key<\/code>/s);
  });

  it("shows the timeline, and each app's own events under it, escaped", () => {
    const web = appStatus('web', record({}), []);
    const event = (type: 'deploy.failed' | 'engine.lost', message: string, app?: string) => ({
      id: message,
      type,
      time: new Date(now - 120_000).toISOString(),
      namespace: 'dokku',
      ...(app ? { app } : {}),
      message,
      details: {},
    });
    const html = renderLive({
      namespace: 'dokku',
      apps: [web],
      now,
      events: [
        event('engine.lost', 'the engine is <gone>'),
        event('deploy.failed', 'web:v2: check /health failed', 'web'),
      ],
    });
    assert.match(
      html,
      /Recent events.*<code>deploy\.failed<\/code> <strong>web<\/strong>: web:v2: check \/health failed.*<code>engine\.lost<\/code>: the engine is &lt;gone&gt;/s,
    );
    assert.match(
      html,
      /<tr id="app-web".*events \(1\).*2 minutes ago<\/time> <code>deploy\.failed<\/code> web:v2: check \/health failed/s,
    );
  });

  it('says what to do when there are no apps, and refreshes itself through /events', () => {
    const html = renderStatusPage({ namespace: 'dokku', apps: [], now });
    assert.match(html, /No apps in namespace/);
    assert.match(html, /new EventSource\('events'\)/);
    assert.match(html, /<noscript><meta http-equiv="refresh" content="5"><\/noscript>/);
  });
});
