/**
 * The image-automation benchmark of issue 36 (`npm run bench:image-policy`): figures printed, not
 * a timed test.
 *
 * From `docker push` of a new tag done to the new container's start (the engine's `start` event),
 * for berth following the repository by the registry's own notification (Debian's
 * `docker-registry` with `notifications.endpoints` pointing at `POST /hooks/registry`; interval
 * 3600 s) and by polling (`interval: 5`). The policy writes the tag into the manifest, the watcher
 * reads it, berth pulls from the registry and starts the container. ROUNDS rounds each, in one run.
 * Checks are off (`wait: 0`) so the figure is the automation's reaction, as bench:git measures the
 * git source's. Results: a table and bench/results/image-policy.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ContainerEvents } from './support/container-events.js';
import { median, printTable, writeAtomically } from './support/figures.js';
import { startBenchBerth, writeAppManifest } from './support/bench-berth.js';
import { runBenchmark, withOwnTeardown } from './support/teardown.js';
import { eventually } from '../test/support/berth-process.js';
import { buildTestImage, cleanupNamespace, dockerCli, uniqueNamespace } from '../test/support/docker.js';
import { freePort } from '../test/support/nginx.js';
import { PrivateRegistry } from '../test/support/registry.js';

const ROUNDS = Number(process.env.BENCH_IMAGE_ROUNDS ?? 5);
const POLL_SECONDS = 5;
const SECRET = 'bench-registry-hook-secret';
const RESULTS_FILE = resolve('bench/results/image-policy.json');

interface Row {
  who: string;
  rounds: number;
  medianSeconds: number;
  worstSeconds: number;
}

await runBenchmark(async (teardown) => {
  const namespace = uniqueNamespace('ib');
  teardown.add('remove images and containers', () => cleanupNamespace(namespace));
  const versions = Array.from({ length: ROUNDS * 2 + 1 }, (_, i) => `1.0.${i}`);
  for (const version of versions) await buildTestImage(`${namespace}/web`, version, { body: version });
  const events = await ContainerEvents.start(namespace, undefined, ['start']);
  teardown.add('close the event stream', async () => events.close());
  const rows: Row[] = [];

  let next = 1;
  for (const mode of ['webhook', 'poll'] as const) {
    rows.push(
      await withOwnTeardown(teardown, `${mode} phase`, async (own) => {
        const root = await mkdtemp(join(tmpdir(), 'berth-image-bench-'));
        own.add('remove the temp dir', () => rm(root, { recursive: true, force: true }));
        const listen = await freePort();
        const registry = await PrivateRegistry.start(
          undefined,
          mode === 'webhook'
            ? { notify: { url: `http://127.0.0.1:${listen}/hooks/registry`, authorization: `Bearer ${SECRET}` } }
            : {},
        );
        own.add('stop the registry', () => registry.stop());
        const repository = `${registry.address}/${namespace}/web`;
        const push = async (version: string) => {
          await dockerCli(['tag', `${namespace}/web:${version}`, `${repository}:${version}`]);
          await dockerCli(['push', `${repository}:${version}`]);
        };
        await push(versions[0]!);
        await mkdir(join(root, 'manifests'));
        await writeFile(join(root, 'secret'), SECRET, { mode: 0o600 });
        await writeAppManifest(join(root, 'manifests'), 'web', {
          image: repository,
          tag: versions[0],
          ports: [{ container: 8080 }],
          checks: { wait: 0 },
          deploy: { retireAfter: 0 },
          imagePolicy: { semver: '^1', interval: mode === 'webhook' ? 3600 : POLL_SECONDS },
        });
        const berth = startBenchBerth(
          own,
          root,
          namespace,
          ['--manifests', join(root, 'manifests')],
          ['--listen', `127.0.0.1:${listen}`, '--registry-webhook-secret-file', join(root, 'secret')],
        );
        await berth.waitForLog((l) => l.step === 'ready', 60_000);
        await eventually(
          async () => berth.logs.some((l) => l.step === 'deployed' && String(l.image).endsWith(`:${versions[0]}`)),
          60_000,
          `${versions[0]} deployed`,
        );
        const times: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const version = versions[next++]!;
          // Not timed: the push itself (the registry's and the engine's work, not berth's). A start
          // while the push command is still returning counts from the push's end (at most 0 s).
          const from = events.events.length;
          await push(version);
          const begin = performance.now();
          const [started] = await events.waitUntil(from, (seen) => seen.length > 0, 120_000, 'a container start');
          times.push(Math.max(0, started!.at - begin) / 1000);
          await eventually(
            async () => berth.logs.some((l) => l.step === 'deployed' && String(l.image).endsWith(`:${version}`)),
            60_000,
            `${version} deployed`,
          );
        }
        await berth.stop();
        await cleanupContainers(namespace);
        return {
          who:
            mode === 'webhook'
              ? "berth, the registry's notification (POST /hooks/registry)"
              : `berth, polling the registry every ${POLL_SECONDS} s`,
          rounds: ROUNDS,
          medianSeconds: median(times),
          worstSeconds: Math.max(...times),
        };
      }),
    );
  }

  printTable(
    `From docker push done to the new container's start (${ROUNDS} rounds each)`,
    ['who', 'median s', 'worst s'],
    rows.map((row) => [row.who, row.medianSeconds.toFixed(2), row.worstSeconds.toFixed(2)]),
  );
  await mkdir(dirname(RESULTS_FILE), { recursive: true });
  await writeAtomically(RESULTS_FILE, `${JSON.stringify({ at: new Date().toISOString(), rows }, null, 2)}\n`);
});

async function cleanupContainers(namespace: string): Promise<void> {
  const ids = (await dockerCli(['ps', '-aq', '--filter', `label=berth.namespace=${namespace}`]))
    .split('\n')
    .filter(Boolean);
  if (ids.length > 0) await dockerCli(['rm', '-f', ...ids]);
}
