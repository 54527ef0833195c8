/**
 * The zero-downtime benchmark of issue 3 (`npm run bench`): figures printed, not a timed test.
 *
 * - berth: two images `<ns>/web:blue` and `<ns>/web:green` (bodies `blue`, `green`), a private
 *   nginx (its own prefix, pid file, error log and conf dir under a temp dir; the system nginx
 *   is never touched) and `berth run --proxy nginx` on a temp manifest dir. While CLIENTS clients
 *   in this process send GET / (Host web.bench.test) back to back through nginx, BERTH_DEPLOYS
 *   deploys alternate the tag; each waits until the new body answers through nginx and the old
 *   container is retired before the next edit, so deploys never overlap.
 * - docker-compose (Debian's v1, installed by `.ci/setup --bench`): the same images as one service with a
 *   published 127.0.0.1 port, the same clients against it, and COMPOSE_CHANGES tag changes each
 *   applied by `docker-compose up -d`. Skipped, and said so, when `docker-compose` is not on PATH.
 *
 * A request fails on a connection error, no complete answer within REQUEST_TIMEOUT_MS, a status
 * other than 200, or a body that is neither `blue` nor `green`; after one, the client pauses
 * PAUSE_AFTER_FAILURE_MS. Clients use a fresh connection per request (`agent: false`) by default,
 * or one keep-alive connection each with BENCH_KEEPALIVE=1. With keep-alive, an nginx reload can
 * reset a request sent on an idle connection the old worker is closing (ECONNRESET): browsers
 * retry those, Node's agent does not, and this benchmark counts them as failed.
 * Edit-to-serving is from the moment the edited file is in place to the completion of the first
 * response carrying the new body. Hard downtime is the longest stretch inside a deploy (edit
 * until the deploy is done) without a successful response completing; the same measure over
 * BASELINE_MS of load without any change, before the first deploy, shows what stalls the machine
 * has anyway (on a busy 2-core host, about a second with nothing deployed).
 *
 * Output: a table on stdout and the figures as JSON in bench/results/zero-downtime.json. Exits 0
 * whether or not the target (0 failed requests while berth deploys) is met; 1 only when the
 * benchmark itself could not run; 130 on SIGINT/SIGTERM. Whatever happens, nginx, berth and the
 * compose project are stopped and the namespace's containers and images removed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { dump } from 'js-yaml';
import { median, writeAtomically } from './support/figures.js';
import { runBenchmark, withOwnTeardown, type Teardown } from './support/teardown.js';
import { BerthProcess } from '../test/support/berth-process.js';
import { buildTestImage, cleanupNamespace, dockerCli, uniqueNamespace } from '../test/support/docker.js';
import { PrivateNginx, freePort } from '../test/support/nginx.js';

const CLIENTS = 4;
const BERTH_DEPLOYS = 20;
const COMPOSE_CHANGES = 5;
/** Load without any change before the first deploy of each phase: how long this machine stalls anyway. */
const BASELINE_MS = 5_000;
const REQUEST_TIMEOUT_MS = 2_000;
/** After a failed request a client waits this long, so a refused port does not become a busy loop starving the engine. */
const PAUSE_AFTER_FAILURE_MS = 10;
const DEPLOY_DEADLINE_MS = 120_000;
const DOMAIN = 'web.bench.test';
const APP = 'web';
const TAGS = ['blue', 'green'] as const;
const RESULTS_FILE = resolve('bench/results/zero-downtime.json');
/** What the issue measured for Debian's docker-compose on this kind of machine, printed for reference. */
const ISSUE_COMPOSE_REFERENCE = '56 failed requests, ~1.2 s hard downtime per change, ~11 s until `up -d` returned';

type Tag = (typeof TAGS)[number];
type Connections = 'fresh' | 'keep-alive';

// ---------------------------------------------------------------------------------------------
// HTTP: one request that never rejects, and the load of CLIENTS clients.

interface Target {
  port: number;
  /** Host header; the default (127.0.0.1:<port>) when absent. */
  host?: string;
}

type Outcome = { ok: true; tag: Tag } | { ok: false; reason: string };

function isTag(body: string): body is Tag {
  return (TAGS as readonly string[]).includes(body);
}

/** One GET / on 127.0.0.1; resolves with the outcome (never rejects) once the answer is complete or REQUEST_TIMEOUT_MS has passed. */
function getOnce(target: Target, agent: Agent | false): Promise<Outcome> {
  return new Promise((settle) => {
    const headers = target.host ? { host: target.host } : {};
    const req = request({ host: '127.0.0.1', port: target.port, path: '/', headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        clearTimeout(deadline);
        const text = body.trim();
        if (res.statusCode !== 200) settle({ ok: false, reason: `HTTP ${res.statusCode}` });
        else if (!isTag(text)) settle({ ok: false, reason: `unexpected body "${text.slice(0, 40)}"` });
        else settle({ ok: true, tag: text });
      });
      res.on('error', (error) => settle({ ok: false, reason: errorReason(error) }));
    });
    const deadline = setTimeout(() => req.destroy(new Error(`timeout (${REQUEST_TIMEOUT_MS} ms)`)), REQUEST_TIMEOUT_MS);
    req.on('error', (error) => {
      clearTimeout(deadline);
      settle({ ok: false, reason: errorReason(error) });
    });
    req.end();
  });
}

function errorReason(error: Error & { code?: string }): string {
  return error.code ?? error.message;
}

/**
 * CLIENTS clients, each sending requests back to back from start() until stop(). Every response
 * is recorded as (completion time, tag) in completion order, so `successAt` is non-decreasing;
 * times are performance.now() milliseconds.
 */
class Load {
  readonly successAt: number[] = [];
  readonly successTag: Tag[] = [];
  readonly failures: { at: number; reason: string }[] = [];
  private running = false;
  private clients: Promise<void>[] = [];
  private readonly agents: Agent[] = [];

  constructor(
    private readonly target: Target,
    private readonly connections: Connections,
  ) {}

  get requests(): number {
    return this.successAt.length + this.failures.length;
  }

  start(): void {
    this.running = true;
    this.clients = Array.from({ length: CLIENTS }, () => this.client());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.clients);
    for (const agent of this.agents) agent.destroy();
  }

  private async client(): Promise<void> {
    const agent = this.connections === 'keep-alive' ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
    if (agent) this.agents.push(agent);
    while (this.running) {
      const outcome = await getOnce(this.target, agent);
      const at = performance.now();
      if (outcome.ok) {
        this.successAt.push(at);
        this.successTag.push(outcome.tag);
      } else {
        this.failures.push({ at, reason: outcome.reason });
        await sleep(PAUSE_AFTER_FAILURE_MS);
      }
    }
  }

  /** Completion time of the first successful response with `tag` completed at or after `since`; rejects after `timeoutMs`. */
  async firstServing(tag: Tag, since: number, timeoutMs = DEPLOY_DEADLINE_MS): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    let index = lowerBound(this.successAt, since);
    for (;;) {
      for (; index < this.successAt.length; index++) if (this.successTag[index] === tag) return this.successAt[index]!;
      if (performance.now() > deadline) throw new Error(`"${tag}" did not answer within ${timeoutMs} ms of the change`);
      await sleep(5);
    }
  }

  /** The longest stretch within [from, to] with no successful response completing, and when it began. */
  longestGap(from: number, to: number): { ms: number; startedAt: number } {
    let previous = from;
    let longest = { ms: 0, startedAt: from };
    const consider = (end: number) => {
      if (end - previous > longest.ms) longest = { ms: end - previous, startedAt: previous };
      previous = end;
    };
    for (let i = lowerBound(this.successAt, from); i < this.successAt.length && this.successAt[i]! <= to; i++)
      consider(this.successAt[i]!);
    consider(to);
    return longest;
  }

  /** Failure count per reason, most frequent first. */
  failureReasons(): Record<string, number> {
    const counts = new Map<string, number>();
    for (const { reason } of this.failures) counts.set(reason, (counts.get(reason) ?? 0) + 1);
    return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]));
  }
}

/** The first index whose value is >= `value` in the non-decreasing `values`. */
function lowerBound(values: number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (values[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Resolves once GET / on `target` answers `tag`; rejects after `timeoutMs` with the last outcome. */
async function waitUntilServing(target: Target, tag: Tag, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const outcome = await getOnce(target, false);
    if (outcome.ok && outcome.tag === tag) return;
    if (performance.now() > deadline)
      throw new Error(
        `127.0.0.1:${target.port} did not answer "${tag}" within ${timeoutMs} ms (last: ${outcome.ok ? outcome.tag : outcome.reason})`,
      );
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes, files and ports.

/** Runs `file ...args` to completion; resolves with stdout, rejects with stderr in the message. */
function run(file: string, args: string[], cwd?: string): Promise<string> {
  return new Promise((settle, reject) => {
    execFile(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else settle(stdout);
    });
  });
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, command)));
}

// ---------------------------------------------------------------------------------------------
// Figures.

interface DeployFigures {
  from: Tag;
  to: Tag;
  editToServingMs: number;
  failedRequests: number;
  hardDowntimeMs: number;
  /** When the hard downtime began, from the edit. */
  hardDowntimeFromMs: number;
  /** berth: edit until only the new container runs. */
  editToRetiredMs?: number;
  /** compose: how long `docker-compose up -d` took to return. */
  upMs?: number;
}

interface BaselineFigures {
  durationMs: number;
  requests: number;
  failedRequests: number;
  longestGapMs: number;
}

interface PhaseFigures {
  baseline: BaselineFigures;
  deploys: DeployFigures[];
  requests: number;
  failedRequests: number;
  failureReasons: Record<string, number>;
}

/** Keeps the load running, with no change, for BASELINE_MS. */
async function measureBaseline(load: Load): Promise<BaselineFigures> {
  const [requestsBefore, failuresBefore, from] = [load.requests, load.failures.length, performance.now()];
  await sleep(BASELINE_MS);
  const to = performance.now();
  return {
    durationMs: to - from,
    requests: load.requests - requestsBefore,
    failedRequests: load.failures.length - failuresBefore,
    longestGapMs: load.longestGap(from, to).ms,
  };
}

function phaseFigures(load: Load, baseline: BaselineFigures, deploys: DeployFigures[]): PhaseFigures {
  return {
    baseline,
    deploys,
    requests: load.requests,
    failedRequests: load.failures.length,
    failureReasons: load.failureReasons(),
  };
}

/** How one phase makes a change: edits (and for compose runs `up -d`), resolving with when the edit landed. */
type Apply = (tag: Tag) => Promise<{ editedAt: number; upMs?: number }>;

/**
 * Starts `load`, measures the baseline, then makes `count` changes alternating from blue, each
 * measured from `apply` until `settled` resolves (the deploy is over), and stops `load`.
 */
async function underLoad(
  load: Load,
  label: string,
  count: number,
  apply: Apply,
  settled: () => Promise<void>,
): Promise<PhaseFigures> {
  load.start();
  try {
    const baseline = await measureBaseline(load);
    const deploys: DeployFigures[] = [];
    for (let i = 0, current: Tag = 'blue'; i < count; i++, current = other(current)) {
      const deploy = await measureDeploy(load, current, other(current), apply, settled);
      printDeploy(label, i, deploy);
      deploys.push(deploy);
    }
    await load.stop();
    return phaseFigures(load, baseline, deploys);
  } finally {
    await load.stop();
  }
}

/** Measures one change from `from` to `to`: the edit, the first response with the new body, and the stretch until `settled` resolves. */
async function measureDeploy(
  load: Load,
  from: Tag,
  to: Tag,
  apply: Apply,
  settled: () => Promise<void>,
): Promise<DeployFigures> {
  const failuresBefore = load.failures.length;
  const { editedAt, upMs } = await apply(to);
  const servedAt = await load.firstServing(to, editedAt);
  await settled();
  const doneAt = performance.now();
  const gap = load.longestGap(editedAt, doneAt);
  return {
    from,
    to,
    editToServingMs: servedAt - editedAt,
    failedRequests: load.failures.length - failuresBefore,
    hardDowntimeMs: gap.ms,
    hardDowntimeFromMs: gap.startedAt - editedAt,
    ...(upMs === undefined ? { editToRetiredMs: doneAt - editedAt } : { upMs }),
  };
}

function other(tag: Tag): Tag {
  return tag === 'blue' ? 'green' : 'blue';
}

function printDeploy(label: string, index: number, deploy: DeployFigures): void {
  const extra =
    deploy.upMs !== undefined ? `up -d ${ms(deploy.upMs)}` : `retired after ${ms(deploy.editToRetiredMs ?? NaN)}`;
  console.log(
    `${label} ${String(index + 1).padStart(2)}  ${deploy.from.padEnd(5)} -> ${deploy.to.padEnd(5)}  edit-to-serving ${ms(deploy.editToServingMs).padStart(8)}  ` +
      `failed ${String(deploy.failedRequests).padStart(4)}  hard downtime ${ms(deploy.hardDowntimeMs).padStart(8)} from +${ms(deploy.hardDowntimeFromMs).padEnd(8)}  ${extra}`,
  );
}

function ms(value: number): string {
  return Number.isNaN(value) ? '-' : `${Math.round(value)} ms`;
}

// ---------------------------------------------------------------------------------------------
// berth through nginx.

function manifestYaml(tag: Tag): string {
  return dump({
    apiVersion: 'berth/v1',
    kind: 'App',
    metadata: { name: APP },
    spec: {
      tag,
      domains: [DOMAIN],
      ports: [{ container: 8080 }],
      checks: { http: [{ path: '/', wait: 0, attempts: 20, timeout: 2 }] },
      deploy: { retireAfter: 2 },
    },
  });
}

async function removeContainers(namespace: string): Promise<void> {
  const ids = (await dockerCli(['ps', '-aq', '--filter', `label=berth.namespace=${namespace}`]))
    .split('\n')
    .filter(Boolean);
  if (ids.length > 0) await dockerCli(['rm', '-f', ...ids]);
}

/** Resolves once exactly one container of the namespace is running (the new one, after the old is retired). */
async function waitUntilOneContainer(namespace: string, berth: BerthProcess): Promise<void> {
  const deadline = performance.now() + DEPLOY_DEADLINE_MS;
  for (;;) {
    const ids = (await dockerCli(['ps', '-q', '--filter', `label=berth.namespace=${namespace}`]))
      .split('\n')
      .filter(Boolean);
    if (ids.length === 1) return;
    if (performance.now() > deadline)
      throw new Error(
        `${ids.length} containers still running ${DEPLOY_DEADLINE_MS} ms after the edit; berth log:\n${berth.tail()}`,
      );
    await sleep(100);
  }
}

async function benchBerth(
  namespace: string,
  root: string,
  connections: Connections,
  teardown: Teardown,
): Promise<PhaseFigures> {
  const nginx = await PrivateNginx.start();
  teardown.add('stop nginx', () => nginx.stop());
  const manifests = join(root, 'manifests');
  await mkdir(manifests);
  const manifest = join(manifests, `${APP}.yaml`);
  await writeAtomically(manifest, manifestYaml('blue'));

  // Registered first, so it runs last: berth stopped leaves its containers, which would idle through the compose phase.
  teardown.add('remove berth containers', () => removeContainers(namespace));
  const berth = new BerthProcess([
    'run',
    '--manifests',
    manifests,
    '--namespace',
    namespace,
    '--state-dir',
    join(root, 'state'),
    ...nginx.berthFlags(),
    '--log-level',
    'info',
  ]);
  teardown.add('stop berth', () => berth.stop('SIGTERM').catch(() => berth.stop('SIGKILL')));
  const target = { port: nginx.port, host: DOMAIN };
  await Promise.race([
    waitUntilServing(target, 'blue', DEPLOY_DEADLINE_MS),
    berth
      .exit()
      .then((code) => Promise.reject(new Error(`berth exited with ${code}: ${berth.stderr.trim() || berth.tail()}`))),
  ]);
  await waitUntilOneContainer(namespace, berth);
  console.log(
    `berth serves "blue" through nginx on 127.0.0.1:${nginx.port} (Host ${DOMAIN}); ${BERTH_DEPLOYS} deploys follow`,
  );

  const apply = async (tag: Tag) => {
    await writeAtomically(manifest, manifestYaml(tag));
    return { editedAt: performance.now() };
  };
  return underLoad(new Load(target, connections), 'berth  ', BERTH_DEPLOYS, apply, () =>
    waitUntilOneContainer(namespace, berth),
  );
}

// ---------------------------------------------------------------------------------------------
// docker-compose.

function composeYaml(namespace: string, tag: Tag, port: number): string {
  return dump({
    version: '2.4',
    services: { [APP]: { image: `${namespace}/${APP}:${tag}`, ports: [`127.0.0.1:${port}:8080`] } },
  });
}

async function benchCompose(
  namespace: string,
  root: string,
  connections: Connections,
  teardown: Teardown,
): Promise<PhaseFigures> {
  const dir = join(root, 'compose');
  await mkdir(dir);
  const file = join(dir, 'docker-compose.yml');
  const port = await freePort();
  const compose = (...args: string[]) => run('docker-compose', ['-p', `${namespace}compose`, '-f', file, ...args], dir);

  await writeAtomically(file, composeYaml(namespace, 'blue', port));
  teardown.add('docker-compose down', () => compose('down', '--timeout', '10'));
  await compose('up', '-d');
  const target = { port };
  await waitUntilServing(target, 'blue', DEPLOY_DEADLINE_MS);
  console.log(
    `docker-compose serves "blue" on 127.0.0.1:${port}; ${COMPOSE_CHANGES} changes follow (not ${BERTH_DEPLOYS}, to keep the run short)`,
  );

  const apply = async (tag: Tag) => {
    await writeAtomically(file, composeYaml(namespace, tag, port));
    const editedAt = performance.now();
    await compose('up', '-d');
    return { editedAt, upMs: performance.now() - editedAt };
  };
  return underLoad(new Load(target, connections), 'compose', COMPOSE_CHANGES, apply, async () => undefined);
}

// ---------------------------------------------------------------------------------------------
// Report.

interface Report {
  finishedAt: string;
  cores: number;
  node: string;
  clients: number;
  connections: Connections;
  requestTimeoutMs: number;
  pauseAfterFailureMs: number;
  baselineMs: number;
  berth: PhaseFigures;
  compose: PhaseFigures | { skipped: string };
  target: { description: string; met: boolean };
}

function summary(figures: PhaseFigures) {
  const serving = figures.deploys.map((d) => d.editToServingMs);
  const downtime = figures.deploys.map((d) => d.hardDowntimeMs);
  const up = figures.deploys.flatMap((d) => (d.upMs === undefined ? [] : [d.upMs]));
  return {
    deploys: String(figures.deploys.length),
    requests: String(figures.requests),
    failed: String(figures.failedRequests),
    failedPerDeploy: (figures.failedRequests / Math.max(1, figures.deploys.length)).toFixed(2),
    servingMedian: ms(median(serving)),
    servingWorst: ms(Math.max(...serving)),
    upMedian: up.length > 0 ? ms(median(up)) : '-',
    downtimeMedian: ms(median(downtime)),
    downtimeWorst: ms(Math.max(...downtime)),
    baselineGap: ms(figures.baseline.longestGapMs),
    baselineRate: `${Math.round(figures.baseline.requests / (figures.baseline.durationMs / 1000))}/s`,
  };
}

function printReport(report: Report): void {
  const berth = summary(report.berth);
  const compose = 'skipped' in report.compose ? undefined : summary(report.compose);
  const rows: [string, keyof ReturnType<typeof summary>][] = [
    ['deploys', 'deploys'],
    ['requests', 'requests'],
    ['failed requests', 'failed'],
    ['failed per deploy', 'failedPerDeploy'],
    ['edit-to-serving, median', 'servingMedian'],
    ['edit-to-serving, worst', 'servingWorst'],
    ['`up -d` duration, median', 'upMedian'],
    ['hard downtime, median', 'downtimeMedian'],
    ['hard downtime, worst', 'downtimeWorst'],
    [`no change: longest gap`, 'baselineGap'],
    [`no change: requests`, 'baselineRate'],
  ];
  console.log('');
  console.log(
    `zero-downtime benchmark: ${report.cores} cores, node ${report.node}, ${report.clients} clients back to back, ${report.connections === 'fresh' ? 'a fresh connection per request' : 'one keep-alive connection per client'}`,
  );
  console.log(`${''.padEnd(26)}${'berth'.padStart(12)}${'docker-compose'.padStart(16)}`);
  for (const [label, key] of rows)
    console.log(`${label.padEnd(26)}${berth[key].padStart(12)}${(compose?.[key] ?? '-').padStart(16)}`);
  if ('skipped' in report.compose) console.log(`docker-compose: skipped (${report.compose.skipped})`);
  console.log(
    `"no change" rows: ${BASELINE_MS / 1000} s of the same load before the first deploy, nothing deployed (what the machine stalls anyway)`,
  );
  console.log(
    `totals cover the whole load, baseline included; compose made ${COMPOSE_CHANGES} changes, not ${BERTH_DEPLOYS}, to keep the run short`,
  );
  console.log(`docker-compose as measured in the issue: ${ISSUE_COMPOSE_REFERENCE}`);
  printFailureReasons('berth', report.berth);
  if (!('skipped' in report.compose)) printFailureReasons('docker-compose', report.compose);
  console.log(
    report.target.met
      ? `TARGET MET: ${report.target.description}`
      : `TARGET MISSED: 0 failed requests (berth had ${report.berth.failedRequests})`,
  );
  console.log(`figures written to ${RESULTS_FILE}`);
}

function printFailureReasons(label: string, figures: PhaseFigures): void {
  const reasons = Object.entries(figures.failureReasons);
  if (reasons.length > 0)
    console.log(`${label} failures: ${reasons.map(([reason, count]) => `${reason} x${count}`).join(', ')}`);
}

async function writeReport(report: Report): Promise<void> {
  await mkdir(resolve(RESULTS_FILE, '..'), { recursive: true });
  await writeFile(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Main.

async function main(teardown: Teardown): Promise<void> {
  const connections: Connections = process.env.BENCH_KEEPALIVE === '1' ? 'keep-alive' : 'fresh';
  const namespace = uniqueNamespace('bench');
  const root = await mkdtemp(join(tmpdir(), 'berth-bench-'));
  teardown.add('remove temp dir', () => rm(root, { recursive: true, force: true }));
  teardown.add(`remove namespace ${namespace}`, () => cleanupNamespace(namespace));
  await buildTestImage(`${namespace}/${APP}`, 'blue', { body: 'blue' });
  await buildTestImage(`${namespace}/${APP}`, 'green', { body: 'green' });

  const berth = await withOwnTeardown(teardown, 'berth phase', (phase) =>
    benchBerth(namespace, root, connections, phase),
  );
  const compose = onPath('docker-compose')
    ? await withOwnTeardown(teardown, 'compose phase', (phase) => benchCompose(namespace, root, connections, phase))
    : { skipped: 'docker-compose is not on PATH; .ci/setup installs it' };

  const report: Report = {
    finishedAt: new Date().toISOString(),
    cores: availableParallelism(),
    node: process.version,
    clients: CLIENTS,
    connections,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    pauseAfterFailureMs: PAUSE_AFTER_FAILURE_MS,
    baselineMs: BASELINE_MS,
    berth,
    compose,
    target: {
      description: `0 failed requests during the ${BERTH_DEPLOYS} berth deploys (baseline included)`,
      met: berth.failedRequests === 0,
    },
  };
  await writeReport(report);
  printReport(report);
}

await runBenchmark(main);
