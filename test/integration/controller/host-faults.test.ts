/**
 * The host's own faults, made for real: a full filesystem under the state directory (a small
 * tmpfs, filled), a truncated state file, an engine stopped with SIGSTOP (a private dockerd this
 * test owns and always resumes), and a registry that accepts connections and never answers.
 * For each: berth stays alive, what runs is not disturbed, the fault shows where an operator
 * looks, and berth converges once the fault passes.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BerthProcess, eventually } from '../../support/berth-process.js';
import { buildTestImage, dockerCli, httpGet } from '../../support/docker.js';
import { freePort } from '../../support/nginx.js';
import { PrivateEngine } from '../../support/private-engine.js';
import { Scenario } from '../../support/scenario.js';

const exec = promisify(execFile);
const quick = { checks: { wait: 0 }, deploy: { retireAfter: 0 } };

describe('berth run: the host’s own faults', function () {
  this.timeout(180_000);
  let world: Scenario;

  beforeEach(async () => {
    world = await Scenario.create();
  });
  afterEach(async () => {
    await world.cleanup();
  });

  /** `imageId state` of each of the app's containers on the shared engine. */
  const states = async (app: string) => (await world.containers(app)).map((c) => `${c.imageId} ${c.state}`).sort();

  it('a full disk under the state directory: the deploy completes, /readyz and /metrics say why, and the state catches up when space returns', async () => {
    const stateDir = world.stateDir;
    await mkdir(stateDir, { recursive: true });
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', stateDir]);
    try {
      const v1 = await buildTestImage(`${world.namespace}/web`, 'v1');
      const v2 = await buildTestImage(`${world.namespace}/web`, 'v2');
      await world.writeManifest('web', { tag: 'v1', ...quick });
      const port = await freePort();
      const berth = world.start(['--listen', `127.0.0.1:${port}`]);
      await eventually(async () => (await states('web')).join() === `${v1} running`, 30_000, 'v1 running');
      await eventually(async () => (await httpGet(port, '/readyz')).status === 200, 10_000, '/readyz 200');

      // Fill only once berth has written v1 down: a write in flight during the fill would free a page
      // with its rename (the old file's) that every later write could reuse, so the disk never looks full.
      const stateFile = join(stateDir, world.namespace, 'state.json');
      await eventually(
        async () => (await readFile(stateFile, 'utf8').catch(() => '')).includes('"outcome": "succeeded"'),
        10_000,
        'v1 recorded',
      );
      const fillers = [join(stateDir, 'filler-1'), join(stateDir, 'filler-2')];
      for (const filler of fillers) {
        await exec('sh', ['-c', `cat /dev/zero > '${filler}' 2>/dev/null || true`]);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      const full = await writeFile(join(stateDir, 'probe'), 'x').then(
        () => 'written',
        (error: NodeJS.ErrnoException) => error.code,
      );
      assert.equal(full, 'ENOSPC', `the tmpfs is full: ${(await exec('df', ['-k', stateDir])).stdout}`);
      await world.writeManifest('web', { tag: 'v2', ...quick });
      await eventually(
        async () => (await states('web')).join() === `${v2} running`,
        60_000,
        'v2 running, v1 retired, nothing left in Created',
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${berth.tail(30)}\n${berth.stderr}`);
      });
      const failed = await berth
        .waitForLog((l) => l.source === 'state' && l.level === 50, 10_000)
        .catch(async (error: Error) => {
          throw new Error(
            `${error.message}\n${(await exec('df', ['-k', stateDir])).stdout}${(await exec('ls', ['-la', join(stateDir, world.namespace)])).stdout}`,
          );
        });
      assert.match(failed.msg, /cannot write the state file .*state\.json: ENOSPC/);
      const notReady = await httpGet(port, '/readyz');
      assert.equal(notReady.status, 503);
      assert.match(
        notReady.body,
        /- cannot write the state file .*state\.json: ENOSPC.*berth goes on from memory and retries/,
      );
      assert.match((await httpGet(port, '/metrics')).body, /^berth_state_writable 0$/m);
      const [app] = JSON.parse((await httpGet(port, '/api/apps')).body) as {
        phase: string;
        running: { tag: string };
      }[];
      assert.deepEqual([app?.phase, app?.running.tag], ['Running', 'v2'], 'the API answers from memory');
      assert.equal(
        await Promise.race([berth.exit(), new Promise((resolve) => setTimeout(() => resolve('alive'), 500))]),
        'alive',
      );

      for (const filler of fillers) await rm(filler);
      await eventually(
        async () => (await httpGet(port, '/readyz')).status === 200,
        45_000,
        '/readyz 200 once space returns',
      );
      const saved = JSON.parse(await readFile(join(stateDir, world.namespace, 'state.json'), 'utf8')) as {
        apps: Record<string, { history: { tag: string; outcome: string }[] }>;
      };
      assert.deepEqual(
        saved.apps.web?.history.map((h) => `${h.tag} ${h.outcome}`),
        ['v2 succeeded', 'v1 succeeded'],
        'the state caught up by itself',
      );
      assert.match((await httpGet(port, '/metrics')).body, /^berth_state_writable 1$/m);
      assert.equal(await berth.stop(), 0);
    } finally {
      await world.killProcesses();
      await exec('umount', [stateDir]).catch(() => exec('umount', ['-l', stateDir]));
    }
  });

  it('a truncated state file is moved aside with a warning; the running app is adopted, not restarted', async () => {
    const v1 = await buildTestImage(`${world.namespace}/web`, 'v1');
    await world.writeManifest('web', { tag: 'v1', ...quick });
    assert.equal((await world.cli(['run', '--once', '--manifests', world.manifests])).code, 0);
    const [before] = await world.running('web');
    const stateFile = join(world.stateDir, world.namespace, 'state.json');
    const text = await readFile(stateFile, 'utf8');
    await writeFile(stateFile, text.slice(0, Math.floor(text.length / 3)));

    const berth = world.start();
    const warning = await berth.waitForLog((l) => l.source === 'state' && l.level === 40, 20_000);
    assert.match(warning.msg, /is not JSON .*moved it to .*state\.json\.corrupt-.*the deploy history it held is lost/);
    const kept = (await readdir(join(world.stateDir, world.namespace))).filter((f) =>
      f.startsWith('state.json.corrupt-'),
    );
    assert.equal(kept.length, 1);
    assert.equal(
      await readFile(join(world.stateDir, world.namespace, kept[0]!), 'utf8'),
      text.slice(0, Math.floor(text.length / 3)),
    );
    await eventually(
      async () => (await world.status()).find((a) => a.app === 'web')?.phase === 'Running',
      30_000,
      'web Running again',
    );
    const [after] = await world.running('web');
    assert.deepEqual(
      [after?.id, after?.startedAt, after?.imageId],
      [before?.id, before?.startedAt, v1],
      'the same container, never restarted',
    );
    assert.equal(await berth.stop(), 0);
  });

  it('a hung engine (SIGSTOP): /readyz 503 within seconds, the API answers from state, and the pending deploy completes once it resumes', async () => {
    const engine = await PrivateEngine.start();
    try {
      const ids: Record<string, string> = {};
      for (const tag of ['v1', 'v2']) {
        ids[tag] = await buildTestImage(`${world.namespace}/web`, tag);
        await engine.loadFrom(world.image('web', tag));
      }
      await dockerCli(['rmi', world.image('web', 'v1'), world.image('web', 'v2')]);
      const onEngine = async () => {
        const list = (await engine.cli(['ps', '-aq', '--filter', 'label=berth.app=web'])).split('\n').filter(Boolean);
        return list.length === 0
          ? []
          : (await engine.cli(['inspect', '--format', '{{.Image}} {{.State.Status}}', ...list])).trim().split('\n');
      };
      await world.writeManifest('web', { tag: 'v1', ...quick });
      const port = await freePort();
      const berth = new BerthProcess(
        ['run', '--manifests', world.manifests, ...world.flags(), '--resync', '3600', '--listen', `127.0.0.1:${port}`],
        { DOCKER_HOST: engine.host },
      );
      world.processes.push(berth);
      await eventually(
        async () => (await onEngine()).join() === `${ids.v1} running`,
        30_000,
        'v1 running on the private engine',
      );
      await eventually(async () => (await httpGet(port, '/readyz')).status === 200, 10_000, '/readyz 200');

      engine.freeze();
      await world.writeManifest('web', { tag: 'v2', ...quick });
      const frozenAt = Date.now();
      const notReady = await eventually(
        async () => {
          const answer = await httpGet(port, '/readyz', 3_000);
          return answer.status === 503 ? answer : undefined;
        },
        20_000,
        '/readyz 503 while the engine is frozen',
        500,
      );
      assert.match(notReady.body, /the Docker engine is unreachable: the engine has not answered a ping for \d+ s/);
      assert.ok(Date.now() - frozenAt < 20_000);
      const asked = Date.now();
      const api = await httpGet(port, '/api/apps/web', 3_000);
      assert.ok(Date.now() - asked < 3_000, 'the API does not wait on the frozen engine');
      const web = JSON.parse(api.body) as { desiredTag: string; conditions: { type: string; status: string }[] };
      assert.equal(web.conditions.find((c) => c.type === 'Available')?.status, 'Unknown');
      assert.equal(
        await Promise.race([berth.exit(), new Promise((resolve) => setTimeout(() => resolve('alive'), 500))]),
        'alive',
      );

      engine.thaw();
      await eventually(
        async () => (await onEngine()).join() === `${ids.v2} running`,
        90_000,
        'the edit made while frozen deployed',
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${berth.tail(40)}`);
      });
      await eventually(
        async () => (await httpGet(port, '/readyz', 5_000)).status === 200,
        30_000,
        '/readyz 200 once the engine answers',
      );
      assert.equal(await berth.stop(), 0);
    } finally {
      engine.thaw();
      await world.killProcesses();
      await engine.stop();
    }
  });

  it('a registry that accepts and never answers: the pull is abandoned after --pull-stall-timeout, the app is Pending, the others deploy', async () => {
    const held: Socket[] = [];
    const silent: Server = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const registry = `127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      const fine = await buildTestImage(`${world.namespace}/fine`, 'v1');
      await world.writeManifest('fine', { tag: 'v1', ...quick });
      await world.writeManifest('stuck', { image: `${registry}/team/stuck`, tag: 'v1', ...quick });
      const berth = world.start(['--pull-stall-timeout', '3']);
      await eventually(
        async () => (await states('fine')).join() === `${fine} running`,
        30_000,
        'the other app deploys meanwhile',
      );
      const stalled = await berth.waitForLog((l) => l.app === 'stuck' && l.result === 'failed', 60_000);
      assert.match(
        stalled.msg,
        new RegExp(`stuck: pullImage ${registry}/team/stuck:v1: no progress from the engine for 3 s`),
      );
      await eventually(
        async () => {
          const stuck = (await world.status()).find((a) => a.app === 'stuck');
          return stuck?.phase === 'Pending' && /no progress/.test(stuck.message);
        },
        10_000,
        'stuck Pending with the reason',
      );
      assert.ok(held.length > 0, 'the engine did reach the silent registry');
      assert.equal(
        await Promise.race([berth.exit(), new Promise((resolve) => setTimeout(() => resolve('alive'), 500))]),
        'alive',
      );
      assert.equal(await berth.stop(), 0);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
