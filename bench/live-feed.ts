/**
 * What an open status page costs on a busy host: the live feed (`/events`) under churn, before
 * (the whole live part as HTML on every change) and after (what changed).
 *
 * Synthetic state, no engine and no berth process: 20 apps, each with a history and a timeline
 * of a few hundred events (as after hours of use); a tag commit every 3 s (the app goes
 * Deploying, a new container starts, traffic switches, the deploy is recorded with its commit,
 * the old container goes: the five state changes a real deploy makes, with `deploy.started` and
 * `deploy.succeeded`), and a container killed every 15 s (it exits; 2 s later it is replaced and
 * `drift.repaired` said). The same state feeds two servers on loopback: the previous feed
 * (bench/support/full-page-feed.ts) over today's markup, and berth's StatusServer; one event-stream
 * client on each counts the bytes and frames it receives.
 *
 *   npm run bench:live-feed              3 minutes
 *   BENCH_MINUTES=1 npm run bench:live-feed
 */
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StatusServer } from '../src/http/server.js';
import { renderLive } from '../src/http/status-page.js';
import { createPrometheusMetrics } from '../src/metrics/prometheus.js';
import { appStatus } from '../src/status/app-status.js';
import { HISTORY_LIMIT, type AppRecord, type DeployRecord } from '../src/state/types.js';
import { TIMELINE_LIMIT } from '../src/notify/notifier.js';
import type { BerthEvent, EventType } from '../src/events/types.js';
import type { ContainerSummary } from '../src/runtime/types.js';
import type { Commit } from '../src/source/types.js';
import { systemClock } from '../src/util/clock.js';
import { silentLogger } from '../src/util/silent-logger.js';
import { FullPageFeed } from './support/full-page-feed.js';
import { printTable } from './support/figures.js';

const MINUTES = Number(process.env.BENCH_MINUTES ?? 3);
const APPS = 20;
const COMMIT_EVERY_MS = 3_000;
const KILL_EVERY_MS = 15_000;
/** Deploys already in each app's history, events already in the timeline, at the start. */
const HISTORY_AT_START = 20;
const EVENTS_AT_START = 250;

interface Sim {
  record: AppRecord;
  containers: ContainerSummary[];
  version: number;
}

const names = Array.from({ length: APPS }, (_, i) => `app${String(i).padStart(2, '0')}`);
const apps = new Map<string, Sim>();
let events: BerthEvent[] = [];
const listeners = new Set<() => void>();
let changes = 0;
let sequence = 0;

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const commitOf = (app: string, version: number): Commit => ({
  sha: createHash('sha1').update(`${app}@${version}`).digest('hex'),
  subject: `bump ${app} to v${version}`,
  author: 'Release Bot',
  time: new Date().toISOString(),
});
const imageId = (app: string, version: number) => `sha256:${hex(app.length * 1000 + version, 64)}`;
const container = (app: string, version: number): ContainerSummary => ({
  id: hex(++sequence, 64),
  name: `bench-${app}-${hex(sequence, 8)}-0`,
  app,
  specHash: hex(version, 12),
  replica: 0,
  imageId: imageId(app, version),
  state: 'running',
  labels: {},
  createdAt: Date.now(),
  ports: [],
});
const deployRecord = (app: string, version: number, at: number): DeployRecord => {
  const commit = commitOf(app, version);
  return {
    at,
    tag: `v${version}`,
    image: `bench/${app}`,
    imageId: imageId(app, version),
    revision: `${hex(version, 12)}@${imageId(app, version)}`,
    outcome: 'succeeded',
    durationMs: 2000 + (version % 7) * 300,
    commit,
    changedBy: commit,
  };
};

function say(type: EventType, app: string | undefined, message: string, at = Date.now()): void {
  events = [
    ...events,
    {
      id: `e${++sequence}`,
      type,
      time: new Date(at).toISOString(),
      namespace: 'bench',
      ...(app !== undefined ? { app } : {}),
      message,
      details: { tag: 'x' },
    },
  ].slice(-TIMELINE_LIMIT);
}

function changed(): void {
  changes++;
  for (const listener of listeners) listener();
}

function seed(): void {
  const now = Date.now();
  for (const app of names) {
    const version = HISTORY_AT_START;
    const history = Array.from({ length: HISTORY_AT_START }, (_, i) =>
      deployRecord(app, version - i, now - (i + 1) * 600_000),
    );
    apps.set(app, {
      version,
      containers: [container(app, version)],
      record: {
        phase: 'Running',
        message: `1 × bench/${app}:v${version} running`,
        since: now - 600_000,
        desiredTag: `v${version}`,
        desiredImage: `bench/${app}`,
        servingRevision: history[0]!.revision,
        servingImageId: imageId(app, version),
        servingTag: `v${version}`,
        history,
      },
    });
  }
  for (let i = 0; i < EVENTS_AT_START; i++) {
    const app = names[i % APPS]!;
    say(
      i % 2 === 0 ? 'deploy.started' : 'deploy.succeeded',
      app,
      `bench/${app}:v${i}: ${i % 2 === 0 ? 'deploying' : 'deployed in 2.3 s'} from ${hex(i, 7)} 'bump ${app} to v${i}'`,
      now - (EVENTS_AT_START - i) * 10_000,
    );
  }
}

const timers: NodeJS.Timeout[] = [];
const later = (ms: number, fn: () => void) => timers.push(setTimeout(fn, ms));

/** A tag commit: the five state changes of a zero-downtime deploy, over 2.5 s. */
function deploy(app: string): void {
  const sim = apps.get(app)!;
  const version = sim.version + 1;
  const record = deployRecord(app, version, 0);
  const ref = `bench/${app}:v${version}`;
  sim.record = {
    ...sim.record,
    phase: 'Deploying',
    message: `deploying ${ref}`,
    desiredTag: `v${version}`,
    since: Date.now(),
  };
  say('deploy.started', app, `deploying ${ref} from ${record.commit!.sha.slice(0, 7)} '${record.commit!.subject}'`);
  changed();
  later(500, () => ((sim.containers = [...sim.containers, container(app, version)]), changed()));
  later(
    1_500,
    () => (
      (sim.record = {
        ...sim.record,
        servingRevision: record.revision,
        servingImageId: record.imageId,
        servingTag: `v${version}`,
        switchedAt: Date.now(),
      }),
      changed()
    ),
  );
  later(2_000, () => {
    sim.version = version;
    sim.record = {
      ...sim.record,
      phase: 'Running',
      message: `1 × ${ref} running`,
      since: Date.now(),
      history: [{ ...record, at: Date.now() }, ...sim.record.history].slice(0, HISTORY_LIMIT),
    };
    say(
      'deploy.succeeded',
      app,
      `${ref} deployed in 2.0 s from ${record.commit!.sha.slice(0, 7)} '${record.commit!.subject}'`,
    );
    changed();
  });
  later(2_500, () => ((sim.containers = sim.containers.slice(-1)), changed()));
}

/** A container killed: it exits; 2 s later it is replaced and the repair said. */
function kill(app: string): void {
  const sim = apps.get(app)!;
  sim.containers = sim.containers.map((c) => ({ ...c, state: 'exited' }));
  changed();
  later(2_000, () => {
    const replacement = container(app, sim.version);
    sim.containers = [replacement];
    say('drift.repaired', app, `repaired: created ${replacement.name} (the container exited)`);
    changed();
  });
}

const snapshot = () => ({
  apps: names.map((name) => appStatus(name, apps.get(name)!.record, apps.get(name)!.containers)),
  events,
});
const onChange = (listener: () => void) => (listeners.add(listener), () => listeners.delete(listener));

interface Tally {
  bytes: number;
  /** Bytes of the first frames (the whole part, at connection). */
  first: number;
  frames: Map<string, number>;
  sizes: number[];
}

/** Reads the event stream at `port`, tallying what it receives. */
function subscribe(port: number): { tally: Tally; close(): void } {
  const tally: Tally = { bytes: 0, first: 0, frames: new Map(), sizes: [] };
  let buffer = '';
  let response: IncomingMessage | undefined;
  const req = request({ host: '127.0.0.1', port, path: '/events' }, (res) => {
    response = res;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      const bytes = Buffer.byteLength(chunk);
      tally.bytes += bytes;
      buffer += chunk;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end + 2);
        buffer = buffer.slice(end + 2);
        const type = /^event: (\w+)/.exec(frame)?.[1];
        if (type === undefined) continue;
        tally.frames.set(type, (tally.frames.get(type) ?? 0) + 1);
        if (type === 'tick') continue;
        if (tally.first === 0) tally.first = Buffer.byteLength(frame);
        else tally.sizes.push(Buffer.byteLength(frame));
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  return { tally, close: () => (response?.destroy(), req.destroy()) };
}

async function main(): Promise<void> {
  seed();
  // Before: the previous feed, whole part per change (its own 250 ms coalescing and 10 s refresh).
  const before = new FullPageFeed({
    clock: systemClock,
    onChange,
    render: async () => renderLive({ namespace: 'bench', now: Date.now(), ...snapshot() }),
  });
  const old: Server = createServer((req, res) =>
    req.url === '/events' ? before.attach(res) : res.writeHead(404).end(),
  );
  await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve));
  // After: berth's status server.
  const after = new StatusServer({
    namespace: 'bench',
    readiness: () => ({ ready: true, reasons: [], engineReachable: true }),
    snapshot: async () => snapshot(),
    onChange,
    metrics: createPrometheusMetrics({
      phases: () => [],
      queueDepth: () => 0,
      manifestErrors: () => 0,
      stateWritable: () => true,
    }).registry,
    clock: systemClock,
    logger: silentLogger(),
  });
  const port = (await after.listen({ host: '127.0.0.1', port: 0 })).port;
  const clients = { before: subscribe((old.address() as AddressInfo).port), after: subscribe(port) };
  console.log(
    `live feed under churn for ${MINUTES} min: ${APPS} apps, a tag commit every ${COMMIT_EVERY_MS / 1000} s, a container killed every ${KILL_EVERY_MS / 1000} s (synthetic state, both feeds on loopback)`,
  );

  let commits = 0;
  let kills = 0;
  timers.push(setInterval(() => deploy(names[commits++ % APPS]!), COMMIT_EVERY_MS));
  timers.push(setInterval(() => kill(names[(kills++ * 7 + 3) % APPS]!), KILL_EVERY_MS));
  const begin = Date.now();
  const progress = setInterval(
    () =>
      console.log(
        `  ${((Date.now() - begin) / 60_000).toFixed(1)} min: before ${mb(clients.before.tally.bytes)}, after ${kb(clients.after.tally.bytes)}`,
      ),
    30_000,
  );
  await new Promise((resolve) => setTimeout(resolve, MINUTES * 60_000));
  clearInterval(progress);
  for (const timer of timers) clearTimeout(timer);
  const minutes = (Date.now() - begin) / 60_000;

  const row = (name: string, tally: Tally, pushTypes: string[]) => {
    const pushes = pushTypes.reduce((n, type) => n + (tally.frames.get(type) ?? 0), 0) - 1;
    const steady = tally.bytes - tally.first;
    const mean = tally.sizes.length === 0 ? 0 : tally.sizes.reduce((a, b) => a + b, 0) / tally.sizes.length;
    return [
      name,
      kb(steady / minutes),
      mb((steady / minutes) * 60),
      (pushes / minutes).toFixed(1),
      kb(mean),
      ((tally.frames.get('tick') ?? 0) / minutes).toFixed(1),
      kb(tally.first),
    ];
  };
  printTable(
    `after ${minutes.toFixed(1)} min, ${commits} tag commits, ${kills} kills, ${(changes / minutes).toFixed(0)} state changes/min, ${events.length} events in the timeline:`,
    ['feed', 'bytes/min', 'per hour', 'pushes/min', 'mean push', 'ticks/min', 'first frame'],
    [
      row('before: whole part per change', clients.before.tally, ['live']),
      row('after: what changed', clients.after.tally, ['live', 'patch']),
    ],
  );
  const ratio =
    (clients.before.tally.bytes - clients.before.tally.first) /
    Math.max(1, clients.after.tally.bytes - clients.after.tally.first);
  console.log(
    `\n  ${ratio.toFixed(0)}× fewer bytes; bytes/min leave out the first frame (the whole part, sent once per connection)`,
  );

  clients.before.close();
  clients.after.close();
  before.close();
  await new Promise((resolve) => old.close(resolve));
  await after.close();
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

await main();
