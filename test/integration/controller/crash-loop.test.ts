/**
 * A serving revision that crash-loops after its checks passed (no watch: retireAfter 0): berth
 * leaves it to the engine's restart policy instead of removing and recreating it over and over,
 * reports Failed with the reason, says it once as an event that reaches the sinks, and never
 * claims a previous revision serves. Real engine, real restarts.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage, dockerCli } from '../../support/docker.js';
import { Scenario } from '../../support/scenario.js';

describe('berth run: a serving revision that crash-loops (real engine)', function () {
  this.timeout(120_000);
  let world: Scenario;
  let berth: BerthProcess;
  let scratch: string;

  before(async () => {
    world = await Scenario.create();
    scratch = await mkdtemp(join(tmpdir(), 'berth-crash-loop-'));
    // Serves for 2 s, so its 1 s check passes, then exits 3; the engine restarts it, and again.
    await buildTestImage(`${world.namespace}/web`, 'v1', {
      body: 'web v1',
      command: '/bin/busybox httpd -p 8080 -h /www; /bin/busybox sleep 2; exit 3',
    });
  });
  after(async () => {
    await world.cleanup();
    await rm(scratch, { recursive: true, force: true });
  });

  const events = async () =>
    (await readFile(join(scratch, 'events.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; message: string; details: Record<string, unknown> });

  it("keeps the crashing container to the engine's restarts, reports Failed with the reason, says it once, and claims nothing serves", async () => {
    await world.writeManifest('web', { tag: 'v1', checks: { wait: 1 }, deploy: { retireAfter: 0 } });
    berth = world.start(['--notify-exec', `cat >> ${join(scratch, 'events.jsonl')}`]);
    await eventually(
      async () => (await events()).some((e) => e.type === 'deploy.succeeded'),
      30_000,
      'the deploy succeeded (its check passed)',
    );
    const failed = await eventually(
      async () => {
        const status = (await world.status()).find((a) => a.app === 'web');
        return status?.phase === 'Failed' ? status : undefined;
      },
      30_000,
      'web Failed',
    );
    assert.match(failed.message, /^restarting: exit code 3, \d+ restarts? in \d+ min; nothing serves/);
    const [container] = await world.containers('web');
    assert.ok(container, 'the crashing container is still there');
    const restartsBefore = Number(await dockerCli(['inspect', '--format', '{{.RestartCount}}', container.id]));
    await eventually(
      async () =>
        Number(await dockerCli(['inspect', '--format', '{{.RestartCount}}', container.id])) >= restartsBefore + 2,
      60_000,
      'two more restarts by the engine',
    );
    assert.deepEqual(
      (await world.containers('web')).map((c) => c.id),
      [container.id],
      'never removed to be recreated',
    );

    const said = await eventually(
      async () => {
        const loops = (await events()).filter((e) => e.type === 'app.crash_looping');
        return loops.length > 0 ? loops : undefined;
      },
      20_000,
      'app.crash_looping at the sink',
    );
    assert.equal(said.length, 1, 'said once, not at every restart');
    assert.match(said[0]!.message, /^restarting: exit code 3/);
    assert.equal(typeof said[0]!.details.revision, 'string');
    const timeline = JSON.parse((await world.cli(['events', '--json'])).stdout) as { type: string }[];
    assert.equal(timeline.filter((e) => e.type === 'app.crash_looping').length, 1);

    const lines = berth.logs.map((l) => String(l.msg));
    assert.ok(
      !lines.some((l) => /previous revision keeps serving/.test(l)),
      'no line claims a previous revision serves',
    );
    assert.ok(
      !lines.some((l) => /^Removed .*is restarting/.test(l)),
      'the serving container is never removed for restarting',
    );
    assert.equal(lines.filter((l) => /^Started /.test(l)).length, 1, 'one container started by berth, ever');
    assert.equal(await berth.stop(), 0);
  });
});
