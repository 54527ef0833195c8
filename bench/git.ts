/**
 * The git-source benchmark of issue 17 (`npm run bench:git`): figures printed, not a timed test.
 *
 * From `git push` of a tag edit to the new container's start (the engine's `start` event), for
 * berth following the repository by a signed webhook (`--git-interval 3600`, the hook posted
 * right after the push, as a forge would) and by polling (`--git-interval 5`), beside the floor:
 * a raw `docker run -d` of the same image, from the command to its container's start. ROUNDS
 * rounds each, in one run. Checks are off (`wait: 0`) so the figure is the source's reaction, not
 * the app's health checks. Results: a table and bench/results/git.json.
 */
import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { dump } from 'js-yaml';
import { ContainerEvents } from './support/container-events.js';
import { median, printTable, writeAtomically } from './support/figures.js';
import { startBenchBerth } from './support/bench-berth.js';
import { runBenchmark, withOwnTeardown } from './support/teardown.js';
import { eventually } from '../test/support/berth-process.js';
import { buildTestImage, cleanupNamespace, dockerCli, uniqueNamespace } from '../test/support/docker.js';
import { GitRepo } from '../test/support/git-server.js';
import { freePort } from '../test/support/nginx.js';

const ROUNDS = Number(process.env.BENCH_GIT_ROUNDS ?? 5);
const POLL_SECONDS = 5;
const SECRET = 'bench-webhook-secret';
const RESULTS_FILE = resolve('bench/results/git.json');

interface Row {
  who: string;
  rounds: number;
  medianSeconds: number;
  worstSeconds: number;
}

await runBenchmark(async (teardown) => {
  const namespace = uniqueNamespace('gb');
  teardown.add('remove images and containers', () => cleanupNamespace(namespace));
  const tags = Array.from({ length: ROUNDS * 2 + 1 }, (_, i) => `v${i}`);
  for (const tag of tags) await buildTestImage(`${namespace}/web`, tag, { body: tag });
  const events = await ContainerEvents.start(namespace, undefined, ['start']);
  teardown.add('close the event stream', async () => events.close());
  const rows: Row[] = [];
  const manifest = (tag: string) =>
    dump({
      apiVersion: 'berth/v1',
      kind: 'App',
      metadata: { name: 'web' },
      spec: { tag, ports: [{ container: 8080 }], checks: { wait: 0 }, deploy: { retireAfter: 0 } },
    });

  /** Seconds from `act` (a push, a docker run) to the next container start of the namespace. */
  async function untilStart(act: () => Promise<void>): Promise<number> {
    const from = events.events.length;
    const begin = performance.now();
    await act();
    const [started] = await events.waitUntil(from, (seen) => seen.length > 0, 120_000, 'a container start');
    return (started!.at - begin) / 1000;
  }

  let next = 1;
  for (const mode of ['webhook', 'poll'] as const) {
    rows.push(
      await withOwnTeardown(teardown, `${mode} phase`, async (own) => {
        const root = await mkdtemp(join(tmpdir(), 'berth-git-bench-'));
        own.add('remove the temp dir', () => rm(root, { recursive: true, force: true }));
        const repo = await GitRepo.create();
        own.add('remove the repository', () => repo.remove());
        await writeFile(join(root, 'secret'), SECRET, { mode: 0o600 });
        await repo.commit({ 'apps/web.yaml': manifest(tags[0]!) }, 'web at v0');
        const listen = await freePort();
        const interval = mode === 'webhook' ? '3600' : String(POLL_SECONDS);
        const berth = startBenchBerth(
          own,
          root,
          namespace,
          ['--git', repo.fileUrl, '--git-path', 'apps', '--git-interval', interval],
          ['--listen', `127.0.0.1:${listen}`, '--git-webhook-secret-file', join(root, 'secret')],
        );
        await berth.waitForLog((l) => l.step === 'ready', 60_000);
        await eventually(
          async () =>
            (
              await dockerCli([
                'ps',
                '-q',
                '--filter',
                `label=berth.namespace=${namespace}`,
                '--filter',
                'label=berth.app=web',
              ])
            ).trim() !== '',
          60_000,
          'v0 running',
        );
        const times: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const tag = tags[next++]!;
          await repo.commit({ 'apps/web.yaml': manifest(tag) }, `web to ${tag}`, { push: false });
          times.push(
            await untilStart(async () => {
              await repo.push();
              if (mode === 'webhook') {
                const body = JSON.stringify({ ref: 'refs/heads/main' });
                await fetch(`http://127.0.0.1:${listen}/hooks/git`, {
                  method: 'POST',
                  headers: {
                    'content-type': 'application/json',
                    'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
                  },
                  body,
                });
              }
            }),
          );
          await eventually(
            async () => berth.logs.some((l) => l.step === 'deployed' && String(l.image).endsWith(`:${tag}`)),
            60_000,
            `${tag} deployed`,
          );
        }
        await berth.stop();
        await cleanupContainers(namespace);
        return {
          who:
            mode === 'webhook'
              ? 'berth --git, webhook (git push, then the signed hook)'
              : `berth --git, polling every ${POLL_SECONDS} s`,
          rounds: ROUNDS,
          medianSeconds: median(times),
          worstSeconds: Math.max(...times),
        };
      }),
    );
  }

  const floor: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const name = `${namespace}-floor-${round}`;
    floor.push(
      await untilStart(async () => {
        await dockerCli([
          'run',
          '-d',
          '--name',
          name,
          '--label',
          `berth.namespace=${namespace}`,
          `${namespace}/web:${tags[0]}`,
        ]);
      }),
    );
    await dockerCli(['rm', '-f', name]);
  }
  rows.push({
    who: 'docker run -d (the floor)',
    rounds: ROUNDS,
    medianSeconds: median(floor),
    worstSeconds: Math.max(...floor),
  });

  printTable(
    `From git push to the new container's start (${ROUNDS} rounds each)`,
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
