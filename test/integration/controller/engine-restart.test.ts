import { strict as assert } from 'node:assert';
import type { BerthEvent } from '../../../src/events/types.js';
import { BerthProcess, eventually, runCli } from '../../support/berth-process.js';
import { buildTestImage, dockerCli, httpGet } from '../../support/docker.js';
import { EventFile, expectEvents } from '../../support/event-sink.js';
import { freePort } from '../../support/nginx.js';
import { PrivateEngine } from '../../support/private-engine.js';
import { Scenario } from '../../support/scenario.js';

describe('berth run: the Docker engine restarts underneath it (a private dockerd)', function () {
  this.timeout(180_000);
  let world: Scenario;
  let engine: PrivateEngine;
  let sink: EventFile;

  before(async () => {
    world = await Scenario.create();
    engine = await PrivateEngine.start();
    sink = await EventFile.create();
  });
  after(async () => {
    await world.killProcesses();
    await engine.stop();
    await world.cleanup();
    await sink.remove();
  });

  /** The app's containers on the private engine: `imageId state` per container. */
  const containers = async () => {
    const ids = (await engine.cli(['ps', '-aq', '--filter', `label=berth.app=web`])).split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    return (await engine.cli(['inspect', '--format', '{{.Image}} {{.State.Status}}', ...ids])).trim().split('\n');
  };

  it('survives the outage, reports it in status, /readyz and the events engine.lost and engine.back, reconnects with backoff and deploys what changed meanwhile', async () => {
    const ids: Record<string, string> = {};
    for (const tag of ['v1', 'v2']) {
      ids[tag] = await buildTestImage(`${world.namespace}/web`, tag);
      await engine.loadFrom(world.image('web', tag));
    }
    await dockerCli(['rmi', world.image('web', 'v1'), world.image('web', 'v2')]);
    const env = { DOCKER_HOST: engine.host };
    const status = async () => runCli(['status', '--json', ...world.flags()], env);
    const timeline = async () =>
      JSON.parse((await runCli(['events', '--json', ...world.flags()], env)).stdout) as BerthEvent[];
    await world.writeManifest('web', { tag: 'v1', checks: { wait: 0 }, deploy: { retireAfter: 0 } });
    const port = await freePort();
    const readyz = () => httpGet(port, '/readyz', 5_000);
    const berth = new BerthProcess(
      [
        'run',
        '--manifests',
        world.manifests,
        ...world.flags(),
        '--resync',
        '3600',
        '--listen',
        `127.0.0.1:${port}`,
        ...sink.flags(),
      ],
      env,
    );
    world.processes.push(berth);
    await eventually(
      async () => (await containers()).join() === `${ids.v1} running`,
      30_000,
      'v1 running on the private engine',
    );
    await eventually(async () => (await readyz()).status === 200, 10_000, '/readyz 200 while the engine answers');

    await engine.pause();
    await berth.waitForLog((l) => l.source === 'engine-events' && /lost/.test(l.msg), 15_000);
    const [lost] = await expectEvents(sink, timeline, 'engine.lost', { namespace: world.namespace });
    assert.match(lost!.message, /^the Docker engine is unreachable: /);
    await eventually(
      async () => /has not reached the Docker engine since .* it reconnects with backoff/.test((await status()).stderr),
      10_000,
      'status to report the outage',
    );
    const notReady = await readyz();
    assert.equal(notReady.status, 503);
    assert.match(notReady.body, /^not ready:\n- the Docker engine is unreachable: /);
    const [web] = JSON.parse(await httpGet(port, '/api/apps/web', 5_000).then((r) => `[${r.body}]`)) as {
      phase: string;
      conditions: { type: string; status: string }[];
    }[];
    assert.equal(
      web?.conditions.find((c) => c.type === 'Available')?.status,
      'Unknown',
      'the API still answers from state, availability unknown',
    );
    await world.writeManifest('web', { tag: 'v2', checks: { wait: 0 }, deploy: { retireAfter: 0 } });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(
      await Promise.race([berth.exit(), Promise.resolve('alive')]),
      'alive',
      'berth keeps running without an engine',
    );

    await engine.resume();
    await berth.waitForLog((l) => l.source === 'engine-events' && /re-established/.test(l.msg), 30_000);
    await eventually(
      async () => (await containers()).join() === `${ids.v2} running`,
      60_000,
      'the edit made during the outage deployed',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nberth's last log lines:\n${berth.tail(40)}`);
    });
    await eventually(async () => (await readyz()).status === 200, 10_000, '/readyz 200 again after the reconnect');
    await expectEvents(sink, timeline, 'engine.back', { namespace: world.namespace });
    // The event stream and the probe may both notice the outage, and the return: each is said once.
    assert.deepEqual(
      (await sink.read()).map((e) => e.type).filter((t) => t.startsWith('engine.')),
      ['engine.lost', 'engine.back'],
    );
    const after = await status();
    assert.equal(after.stderr, '', 'the outage is no longer reported');
    assert.equal((JSON.parse(after.stdout) as { phase: string }[])[0]?.phase, 'Running');
    assert.equal(await berth.stop(), 0);
  });
});
