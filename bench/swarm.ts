/**
 * The Swarm benchmark of issue 15 (`npm run bench:swarm`): figures printed, not a timed test.
 *
 * On a single-node swarm of the local engine (`docker swarm init` when it is in none, left again
 * after), two images `<ns>/web:blue` and `:green` pushed to the registry on 127.0.0.1:5000, and a
 * private nginx in front, CLIENTS clients send GET / back to back while:
 * - berth (`run --runtime swarm --proxy nginx`) deploys DEPLOYS tag edits of a 1-replica app
 *   (start-first, checks as its healthcheck), each waited for until berth logs it deployed;
 * - a plain `docker service update --image` makes the same change DEPLOYS times on a 1-replica
 *   service with Swarm's defaults (stop-first, pause on failure), its task publishing a fixed host
 *   port (the only way a static nginx upstream finds a task without berth), each waited for
 *   until the update completes.
 * A request fails on a connection error, no answer within 10 s, a status other than 200 or an
 * unexpected body. Edit-to-updated is from the edit (or the update command) to the completed
 * rollout. Results: a table on stdout and bench/results/swarm.json. Whatever happens, berth,
 * nginx, the services, the swarm this benchmark created and the images are removed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchRoot, startBenchBerth, writeAppManifest } from './support/bench-berth.js';
import { median, printTable, writeAtomically } from './support/figures.js';
import { runBenchmark, withOwnTeardown } from './support/teardown.js';
import { eventually } from '../test/support/berth-process.js';
import { buildTestImage, cleanupNamespace, dockerCli, uniqueNamespace } from '../test/support/docker.js';
import { startLoad } from '../test/support/load.js';
import { freePort, PrivateNginx } from '../test/support/nginx.js';
import { pushTo, SHARED_REGISTRY } from '../test/support/registry.js';
import { ensureSwarm, removeServices } from '../test/support/swarm.js';

const CLIENTS = 4;
const DEPLOYS = Number(process.env.BENCH_SWARM_DEPLOYS ?? 20);
const TAGS = ['blue', 'green'] as const;
const DOMAIN = 'web.swarm.bench';
const RESULTS_FILE = resolve('bench/results/swarm.json');

interface Row {
  who: string;
  deploys: number;
  requests: number;
  failed: number;
  medianSeconds: number;
  worstSeconds: number;
}

await runBenchmark(async (teardown) => {
  const swarm = await ensureSwarm();
  teardown.add('leave the swarm', () => swarm.release());
  const namespace = uniqueNamespace('sb');
  teardown.add('remove images', () => cleanupNamespace(namespace));
  const images: Record<string, string> = {};
  for (const tag of TAGS) {
    const id = await buildTestImage(`${namespace}/web`, tag, { body: tag });
    images[tag] = await pushTo(SHARED_REGISTRY, id, `${namespace}/web`, tag);
  }
  const repository = `${SHARED_REGISTRY}/${namespace}/web`;
  const rows: Row[] = [];

  rows.push(
    await withOwnTeardown(teardown, 'berth phase', async (own) => {
      const { root, manifests } = await benchRoot(own, 'swarm');
      const write = (tag: string) =>
        writeAppManifest(manifests, 'web', {
          image: repository,
          tag,
          replicas: 1,
          ports: [{ container: 8080 }],
          domains: [DOMAIN],
          checks: { http: [{ path: '/health', content: 'ok', attempts: 3, wait: 1, timeout: 2 }] },
        });
      const nginx = await PrivateNginx.start();
      own.add('stop nginx', () => nginx.stop());
      own.add('remove the services', () => removeServices(namespace));
      await write(TAGS[0]);
      const berth = startBenchBerth(
        own,
        root,
        namespace,
        ['--runtime', 'swarm', '--manifests', manifests],
        nginx.berthFlags(),
      );
      await eventually(async () => (await nginx.get(DOMAIN)).body === TAGS[0], 120_000, 'berth to serve the first tag');
      const load = startLoad(
        () => nginx.get(DOMAIN, '/', 10_000),
        (body) => (TAGS as readonly string[]).includes(body),
        CLIENTS,
      );
      const times: number[] = [];
      for (let i = 1; i <= DEPLOYS; i++) {
        const tag = TAGS[i % 2]!;
        const deployed = berth.logs.filter((l) => l.step === 'deployed').length;
        const begin = performance.now();
        await write(tag);
        await eventually(
          async () => berth.logs.filter((l) => l.step === 'deployed').length > deployed,
          180_000,
          `berth deploy ${i}`,
        );
        times.push((performance.now() - begin) / 1000);
      }
      const result = await load.stop();
      return {
        who: 'berth (start-first, checks, nginx follows the tasks)',
        deploys: DEPLOYS,
        requests: result.requests,
        failed: result.failures.length,
        medianSeconds: median(times),
        worstSeconds: Math.max(...times),
      };
    }),
  );

  rows.push(
    await withOwnTeardown(teardown, 'plain phase', async (own) => {
      const nginx = await PrivateNginx.start();
      own.add('stop nginx', () => nginx.stop());
      const port = await freePort();
      const name = `${namespace}_plain`;
      own.add('remove the plain service', () => dockerCli(['service', 'rm', name]).catch(() => undefined));
      await dockerCli([
        'service',
        'create',
        '-q',
        '--detach',
        '--name',
        name,
        '--label',
        `berth.namespace=${namespace}`,
        '--replicas',
        '1',
        '--publish',
        `mode=host,target=8080,published=${port}`,
        `${repository}:${TAGS[0]}@${images[TAGS[0]]}`,
      ]);
      const confFile = join(nginx.confDir, 'plain.conf');
      await writeFile(
        confFile,
        `upstream plain { server 127.0.0.1:${port} max_fails=0; }\nserver { listen 127.0.0.1:${nginx.port}; server_name ${DOMAIN}; location / { proxy_pass http://plain; proxy_next_upstream error timeout http_502 http_503; } }\n`,
      );
      await nginx.reload();
      await eventually(async () => (await nginx.get(DOMAIN)).body === TAGS[0], 120_000, 'the plain service to serve');
      const load = startLoad(
        () => nginx.get(DOMAIN, '/', 10_000),
        (body) => (TAGS as readonly string[]).includes(body),
        CLIENTS,
      );
      const times: number[] = [];
      for (let i = 1; i <= DEPLOYS; i++) {
        const tag = TAGS[i % 2]!;
        const begin = performance.now();
        await dockerCli([
          'service',
          'update',
          '-q',
          '--detach',
          '--image',
          `${repository}:${tag}@${images[tag]}`,
          name,
        ]);
        await eventually(
          async () =>
            (
              await dockerCli([
                'service',
                'inspect',
                '--format',
                '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}',
                name,
              ])
            ).trim() === 'completed',
          180_000,
          `plain update ${i}`,
          100,
        );
        times.push((performance.now() - begin) / 1000);
        await sleep(500);
      }
      const result = await load.stop();
      return {
        who: 'docker service update --image (stop-first, fixed port)',
        deploys: DEPLOYS,
        requests: result.requests,
        failed: result.failures.length,
        medianSeconds: median(times),
        worstSeconds: Math.max(...times),
      };
    }),
  );

  printTable(
    'Swarm rollouts under load (1 replica, 4 clients through nginx)',
    ['who', 'deploys', 'requests', 'failed', 'median s', 'worst s'],
    rows.map((row) => [
      row.who,
      String(row.deploys),
      String(row.requests),
      String(row.failed),
      row.medianSeconds.toFixed(1),
      row.worstSeconds.toFixed(1),
    ]),
  );
  await mkdir(dirname(RESULTS_FILE), { recursive: true });
  await writeAtomically(RESULTS_FILE, `${JSON.stringify({ at: new Date().toISOString(), rows }, null, 2)}\n`);
});
