/**
 * The rollback benchmark of issue 16 (`npm run bench:rollback`): figures printed, not a timed test.
 *
 * A revision that passes its checks and crashes 5 s after it starts, rolled out ROUNDS times under
 * load (CLIENTS clients through a private nginx, 1 replica), by:
 * - berth (`run --proxy nginx`, zero-downtime, `deploy.monitor` 30 s): the crash reaches berth as
 *   an engine event, and it switches nginx back to the previous revision's container, still running;
 * - `docker service update --image ... --update-failure-action rollback --update-monitor 10s` on a
 *   single-node swarm (10 s rather than Swarm's 5 s default, which a crash at 5 s would outlast),
 *   its task publishing a fixed host port that nginx points at.
 * Crash time is the engine's `die` event of the bad container (exit code 1); "back" is the first request after
 * it answered by the good revision (a probe every 20 ms). A request fails on a connection error,
 * no answer within 10 s, a status other than 200 or an unexpected body. Results: a table and
 * bench/results/rollback.json. Everything created is removed, the swarm left if this made it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerEvents } from './support/container-events.js';
import { benchRoot, startBenchBerth, writeAppManifest } from './support/bench-berth.js';
import { median, printTable, writeAtomically } from './support/figures.js';
import { runBenchmark, withOwnTeardown } from './support/teardown.js';
import { eventually } from '../test/support/berth-process.js';
import { buildTestImage, cleanupNamespace, dockerCli, uniqueNamespace } from '../test/support/docker.js';
import { startLoad } from '../test/support/load.js';
import { freePort, PrivateNginx } from '../test/support/nginx.js';
import { pushTo, SHARED_REGISTRY } from '../test/support/registry.js';
import { ensureSwarm } from '../test/support/swarm.js';

const CLIENTS = 4;
const ROUNDS = Number(process.env.BENCH_ROLLBACK_ROUNDS ?? 3);
const DOMAIN = 'web.rollback.bench';
const RESULTS_FILE = resolve('bench/results/rollback.json');
const CRASH = '/bin/busybox httpd -f -p 8080 -h /www & /bin/busybox sleep 5; exit 1';

interface Row {
  who: string;
  rounds: number;
  requests: number;
  failed: number;
  medianBackSeconds: number;
  worstBackSeconds: number;
  rolledBack: number;
  /** The first few failures, when and why: what a reader checks a failure count against. */
  firstFailures: { at: number; reason: string }[];
}

await runBenchmark(async (teardown) => {
  const namespace = uniqueNamespace('rb');
  teardown.add('remove images', () => cleanupNamespace(namespace));
  const images: Record<string, string> = {};
  const tags = ['good', ...Array.from({ length: ROUNDS }, (_, i) => `bad${i + 1}`)];
  for (const tag of tags) {
    const id = await buildTestImage(
      `${namespace}/web`,
      tag,
      tag === 'good' ? { body: 'good' } : { body: tag, command: CRASH },
    );
    images[tag] = await pushTo(SHARED_REGISTRY, id, `${namespace}/web`, tag);
  }
  const accept = (body: string) => tags.includes(body);
  /** Between rounds: only the good revision's one container runs (a bad one still stopping would crash into the next round). */
  const settled = (label: string, what: string) =>
    eventually(
      async () =>
        (await dockerCli(['ps', '-q', '--filter', `label=berth.namespace=${namespace}`, '--filter', `label=${label}`]))
          .trim()
          .split('\n')
          .filter(Boolean).length === 1,
      60_000,
      what,
    );
  const rows: Row[] = [];

  /** From the bad container's death to the first answer of the good revision. */
  async function timeBack(events: ContainerEvents, from: number, nginx: PrivateNginx): Promise<number> {
    // The crash exits 1; containers stopped on purpose (a rollback's cleanup) die otherwise.
    const crashed = <E extends { exitCode: string | undefined }>(seen: E[]) => seen.filter((e) => e.exitCode === '1');
    const [died] = crashed(
      await events.waitUntil(from, (seen) => crashed(seen).length > 0, 60_000, 'the bad container to crash'),
    );
    for (;;) {
      if ((await nginx.get(DOMAIN, '/', 2_000).catch(() => ({ body: '' }))).body === 'good')
        return (performance.now() - died!.at) / 1000;
      if (performance.now() - died!.at > 120_000) throw new Error('never back on the good revision');
      await sleep(20);
    }
  }

  rows.push(
    await withOwnTeardown(teardown, 'berth phase', async (own) => {
      const { root, manifests } = await benchRoot(own, 'rollback');
      const write = (tag: string) =>
        writeAppManifest(manifests, 'web', {
          tag,
          replicas: 1,
          ports: [{ container: 8080 }],
          domains: [DOMAIN],
          checks: { http: [{ path: '/health', content: 'ok', attempts: 20, wait: 0, timeout: 2 }] },
          deploy: { retireAfter: 30, monitor: 30 },
        });
      const nginx = await PrivateNginx.start();
      own.add('stop nginx', () => nginx.stop());
      const events = await ContainerEvents.start(namespace, undefined, ['die']);
      own.add('close the event stream', async () => events.close());
      await write('good');
      const berth = startBenchBerth(own, root, namespace, ['--manifests', manifests], nginx.berthFlags());
      await eventually(async () => (await nginx.get(DOMAIN)).body === 'good', 60_000, 'berth to serve good').catch(
        (error: Error) => {
          throw new Error(`${error.message}\n${berth.tail(10)}\n${berth.stderr}`);
        },
      );
      // nginx's old workers finish their connections after the first reload: the load starts once they are gone.
      await nginx.settled();
      const load = startLoad(() => nginx.get(DOMAIN, '/', 10_000), accept, CLIENTS);
      const back: number[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const from = events.events.length;
        await write(`bad${round}`);
        back.push(await timeBack(events, from, nginx));
        await eventually(
          async () => berth.logs.filter((l) => l.step === 'rollback').length >= round,
          30_000,
          `berth's rollback ${round}`,
        );
        await settled('berth.app=web', `the bad container of round ${round} gone`);
      }
      const result = await load.stop();
      return {
        who: 'berth (watch after the switch, old container kept)',
        rounds: ROUNDS,
        requests: result.requests,
        failed: result.failures.length,
        firstFailures: result.failures.slice(0, 5),
        medianBackSeconds: median(back),
        worstBackSeconds: Math.max(...back),
        rolledBack: berth.logs.filter((l) => l.step === 'rollback').length,
      };
    }),
  );

  rows.push(
    await withOwnTeardown(teardown, 'swarm phase', async (own) => {
      const swarm = await ensureSwarm();
      own.add('leave the swarm', () => swarm.release());
      const nginx = await PrivateNginx.start();
      own.add('stop nginx', () => nginx.stop());
      const events = await ContainerEvents.start(namespace, undefined, ['die']);
      own.add('close the event stream', async () => events.close());
      const port = await freePort();
      const name = `${namespace}_swarm`;
      own.add('remove the service', () => dockerCli(['service', 'rm', name]).catch(() => undefined));
      const repository = `${SHARED_REGISTRY}/${namespace}/web`;
      await dockerCli([
        'service',
        'create',
        '-q',
        '--detach',
        '--name',
        name,
        '--container-label',
        `berth.namespace=${namespace}`,
        '--replicas',
        '1',
        '--publish',
        `mode=host,target=8080,published=${port}`,
        `${repository}:good@${images.good}`,
      ]);
      await writeFile(
        join(nginx.confDir, 'swarm.conf'),
        `upstream swarm { server 127.0.0.1:${port} max_fails=0; }\nserver { listen 127.0.0.1:${nginx.port}; server_name ${DOMAIN}; location / { proxy_pass http://swarm; proxy_next_upstream error timeout http_502 http_503; } }\n`,
      );
      await nginx.reload();
      await eventually(async () => (await nginx.get(DOMAIN)).body === 'good', 120_000, 'the service to serve good');
      const load = startLoad(() => nginx.get(DOMAIN, '/', 10_000), accept, CLIENTS);
      const back: number[] = [];
      let rolledBack = 0;
      for (let round = 1; round <= ROUNDS; round++) {
        const from = events.events.length;
        await dockerCli([
          'service',
          'update',
          '-q',
          '--detach',
          '--update-failure-action',
          'rollback',
          '--update-monitor',
          '10s',
          '--image',
          `${repository}:bad${round}@${images[`bad${round}`]}`,
          name,
        ]);
        back.push(await timeBack(events, from, nginx));
        const state = await eventually(
          async () => {
            const s = (
              await dockerCli([
                'service',
                'inspect',
                '--format',
                '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}',
                name,
              ])
            ).trim();
            return s === 'rollback_completed' || s === 'completed' ? s : undefined;
          },
          120_000,
          `swarm's rollback ${round}`,
          200,
        );
        if (state === 'rollback_completed') rolledBack++;
        await settled(`com.docker.swarm.service.name=${name}`, `the bad task of round ${round} gone`);
      }
      const result = await load.stop();
      return {
        who: 'docker service update --update-failure-action rollback',
        rounds: ROUNDS,
        requests: result.requests,
        failed: result.failures.length,
        firstFailures: result.failures.slice(0, 5),
        medianBackSeconds: median(back),
        worstBackSeconds: Math.max(...back),
        rolledBack,
      };
    }),
  );

  printTable(
    `A revision that crashes 5 s after it starts, ${ROUNDS} times under load (1 replica, ${CLIENTS} clients through nginx)`,
    ['who', 'rolled back', 'requests', 'failed', 'crash to back, median s', 'worst s'],
    rows.map((row) => [
      row.who,
      `${row.rolledBack}/${row.rounds}`,
      String(row.requests),
      String(row.failed),
      row.medianBackSeconds.toFixed(2),
      row.worstBackSeconds.toFixed(2),
    ]),
  );
  await mkdir(dirname(RESULTS_FILE), { recursive: true });
  await writeAtomically(RESULTS_FILE, `${JSON.stringify({ at: new Date().toISOString(), rows }, null, 2)}\n`);
});
