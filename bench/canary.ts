import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchRoot, startBenchBerth, writeAppManifest } from './support/bench-berth.js';
import { printTable, writeAtomically } from './support/figures.js';
import { runBenchmark, withOwnTeardown } from './support/teardown.js';
import { eventually } from '../test/support/berth-process.js';
import { cleanupNamespace, uniqueNamespace } from '../test/support/docker.js';
import { startLoad } from '../test/support/load.js';
import { PrivateNginx } from '../test/support/nginx.js';
import { buildPageImage, PAGE_PATH } from '../test/support/page-image.js';

const CLIENTS = 4;
const LOAD_SECONDS = Number(process.env.BENCH_CANARY_SECONDS ?? 60);
/** The edit comes this long into the minute, so both runs see the old revision serve first. */
const EDIT_AFTER_SECONDS = 5;
const DOMAIN = 'web.canary.bench';
const RESULTS_FILE = resolve('bench/results/canary.json');
const CANARY = { steps: [10, 25, 50], interval: 30, maxErrorRate: 1, minRequests: 50 };
/** The bad revision's share of failing pages. */
const FAILING = 0.2;

interface Row {
  who: string;
  withCanary: boolean;
  requests: number;
  failed: number;
  /** Failed more than a second after berth's rollback (none expected once the old revision serves alone). */
  failedAfterDecision: number;
  /** Seconds from the manifest edit to berth's rollback; undefined when it never rolled back. */
  editToBackSeconds?: number;
  /** Seconds the first step ran before the decision. */
  stepSeconds?: number;
  /** step% x 20% of the requests during the step: what the issue expects a canary to cost. */
  expectedFailed?: number;
  reason?: string;
  /** berth's other warnings and errors during the run. */
  warnings?: string[];
}

await runBenchmark(async (teardown) => {
  const rows: Row[] = [];
  for (const withCanary of [false, true])
    rows.push(
      await withOwnTeardown(teardown, withCanary ? 'with a canary' : 'without a canary', async (own) => {
        const namespace = uniqueNamespace('cb');
        own.add('remove images', () => cleanupNamespace(namespace));
        await buildPageImage(`${namespace}/web`, 'v1', { body: 'v1' });
        await buildPageImage(`${namespace}/web`, 'v2', { body: 'v2', failOneIn: Math.round(1 / FAILING) });
        const { root, manifests } = await benchRoot(own, 'canary');
        const write = (tag: string) =>
          writeAppManifest(manifests, 'web', {
            tag,
            replicas: 2,
            ports: [{ container: 8080 }],
            domains: [DOMAIN],
            checks: { http: [{ path: '/health', content: 'ok', attempts: 20, wait: 0, timeout: 2 }] },
            deploy: { retireAfter: 30, monitor: 30, progressDeadline: 600, ...(withCanary ? { canary: CANARY } : {}) },
          });
        const nginx = await PrivateNginx.start();
        own.add('stop nginx', () => nginx.stop());
        await write('v1');
        const berth = startBenchBerth(own, root, namespace, ['--manifests', manifests], nginx.berthFlags());
        await eventually(
          async () => (await nginx.get(DOMAIN, PAGE_PATH)).body === 'v1',
          60_000,
          'berth to serve v1',
        ).catch((error: Error) => {
          throw new Error(`${error.message}\n${berth.tail(10)}\n${berth.stderr}`);
        });
        await nginx.settled();

        const load = startLoad(
          () => nginx.get(DOMAIN, PAGE_PATH, 10_000),
          (body) => body === 'v1' || body === 'v2',
          CLIENTS,
        );
        const started = Date.now();
        await sleep(EDIT_AFTER_SECONDS * 1000);
        const editedAt = Date.now();
        const requestsBeforeEdit = load.result.requests;
        await write('v2');
        await sleep(Math.max(0, started + LOAD_SECONDS * 1000 - Date.now()));
        const result = await load.stop();
        await eventually(
          async () => berth.logs.some((l) => l.step === 'rollback' || l.step === 'switch'),
          60_000,
          'berth to switch or roll back',
        );
        // The canary's decision: the rollback whose reason is the judgement (not a failed start's cleanup), and the step before it.
        const decision = berth.logs.findIndex(
          (l) => l.step === 'rollback' && typeof l.reason === 'string' && l.reason.startsWith('the canary'),
        );
        const rolledBackAt = decision >= 0 ? (berth.logs[decision]!.time as number) : undefined;
        const routedAt = berth.logs
          .slice(0, Math.max(0, decision))
          .findLast((l) => l.step === 'canary' && l.percent !== undefined)?.time as number | undefined;
        const row: Row = {
          withCanary,
          who: withCanary
            ? `berth with deploy.canary (steps ${CANARY.steps.join(', ')}; maxErrorRate ${CANARY.maxErrorRate}%)`
            : 'berth without a canary (switched at once)',
          requests: result.requests,
          failed: result.failures.length,
          failedAfterDecision:
            rolledBackAt === undefined
              ? result.failures.length
              : result.failures.filter((f) => f.at > rolledBackAt + 1_000).length,
        };
        if (rolledBackAt !== undefined && routedAt !== undefined) {
          const rate = (result.requests - requestsBeforeEdit) / ((started + LOAD_SECONDS * 1000 - editedAt) / 1000);
          row.editToBackSeconds = (rolledBackAt - editedAt) / 1000;
          row.stepSeconds = (rolledBackAt - routedAt) / 1000;
          row.expectedFailed = rate * row.stepSeconds * (CANARY.steps[0]! / 100) * FAILING;
          row.reason = berth.logs[decision]!.reason as string;
        }
        // What else went wrong during the run (a failed start retried, say), for a reader of the figures.
        row.warnings = berth.logs.filter((l) => l.level >= 40 && l !== berth.logs[decision]).map((l) => String(l.msg));
        return row;
      }),
    );

  printTable(
    `A revision failing ${FAILING * 100}% of its pages (passing /health), deployed under ${LOAD_SECONDS} s of load (${CLIENTS} clients through nginx, 2 replicas)`,
    [
      'who',
      'requests',
      'failed',
      'failed after the decision',
      'edit to back on v1, s',
      'first step to decision, s',
      'expected (step% x 20%)',
    ],
    rows.map((row) => [
      row.who,
      String(row.requests),
      String(row.failed),
      String(row.failedAfterDecision),
      row.editToBackSeconds !== undefined
        ? row.editToBackSeconds.toFixed(2)
        : row.withCanary
          ? 'not decided within the load'
          : 'never (until a person)',
      row.stepSeconds === undefined ? '–' : row.stepSeconds.toFixed(2),
      row.expectedFailed === undefined ? '–' : row.expectedFailed.toFixed(0),
    ]),
  );
  for (const row of rows) {
    if (row.reason) console.log(`${row.who}: ${row.reason}`);
    for (const warning of row.warnings ?? []) console.log(`${row.who}: berth warned: ${warning.slice(0, 300)}`);
  }
  await writeAtomically(RESULTS_FILE, `${JSON.stringify({ at: new Date().toISOString(), rows }, null, 2)}\n`);
  console.log(`results: ${RESULTS_FILE}`);
});
