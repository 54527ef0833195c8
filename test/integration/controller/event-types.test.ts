/**
 * The events of an app's life, each asserted where berth makes it: it reaches the timeline (`berth
 * events --json`) and a sink (`--notify-exec`), the same event in both, with the fields
 * docs/events-and-notifications.md documents for its type. A deploy whose post-deploy command
 * fails, the same container removed twice behind berth's back, a manifest invalid then valid, a
 * revision rolled back within deploy.monitor, a failing deploy, and the app removed. (The engine's
 * events are asserted in engine-restart.test.ts, the git source's in git-source.test.ts, the
 * certificates' in proxy/tls.test.ts, a webhook's signature and chat lines in
 * notifications.test.ts.)
 */
import { strict as assert } from 'node:assert';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BerthEvent } from '../../../src/events/types.js';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage, dockerCli } from '../../support/docker.js';
import { EventFile, expectEvents, type ExpectOptions } from '../../support/event-sink.js';
import { freePort } from '../../support/nginx.js';
import { Scenario } from '../../support/scenario.js';

describe('every event of an app reaches the timeline and a sink with its documented fields (real engine)', function () {
  this.timeout(120_000);
  let world: Scenario;
  let sink: EventFile;
  let berth: BerthProcess;
  let listen: number;
  const TOKEN = 'tok-Zr81-never-shown';

  const timeline = async () => JSON.parse((await world.cli(['events', '--json'])).stdout) as BerthEvent[];
  const expect = (type: BerthEvent['type'], options: Omit<ExpectOptions, 'namespace'> = {}) =>
    expectEvents(sink, timeline, type, { namespace: world.namespace, app: 'web', ...options });
  /** web's manifest of the first deploy; written again unchanged, it is no new revision. */
  const first = {
    tag: 'v1',
    env: { TOKEN },
    checks: { wait: 0 },
    postDeploy: { command: ['sh', '-c', 'echo warming; echo "no hook for $TOKEN"; exit 3'], timeout: 10 },
  };
  const web = async () => (await world.status()).find((a) => a.app === 'web');

  before(async () => {
    world = await Scenario.create();
    sink = await EventFile.create();
    await buildTestImage(`${world.namespace}/web`, 'v1', { body: 'v1' });
    await buildTestImage(`${world.namespace}/web`, 'crashy', {
      body: 'crashy',
      command: '/bin/busybox httpd -f -p 8080 -h /www & /bin/busybox sleep 3; exit 7',
    });
    listen = await freePort();
  });
  after(async () => {
    await world.cleanup();
    await sink.remove();
  });

  it('a deploy whose post-deploy command fails: deploy.started, deploy.succeeded, then postdeploy.failed with its reason, exit code and output (redacted)', async () => {
    await world.writeManifest('web', first);
    berth = world.start([...sink.flags(), '--allow-empty', '--listen', `127.0.0.1:${listen}`]);
    const [started] = await expect('deploy.started');
    const [succeeded] = await expect('deploy.succeeded');
    const [failed] = await expect('postdeploy.failed');
    assert.deepEqual([started!.details.tag, succeeded!.details.tag, failed!.details.tag], ['v1', 'v1', 'v1']);
    assert.equal(failed!.details.revision, succeeded!.details.revision);
    assert.deepEqual(failed!.details.command, first.postDeploy.command);
    assert.equal(failed!.details.exitCode, 3);
    assert.equal(failed!.details.reason, 'exited with code 3: no hook for <redacted>');
    assert.equal(failed!.details.output, 'warming\nno hook for <redacted>');
    assert.equal(
      failed!.message,
      `${world.namespace}/web:v1: the post-deploy command exited with code 3: no hook for <redacted>; the deploy stands`,
    );
    assert.deepEqual(
      (await sink.read()).map((e) => e.type),
      ['deploy.started', 'deploy.succeeded', 'postdeploy.failed'],
    );
    assert.equal((await web())?.phase, 'Running', 'the deploy stands');
  });

  it("the same container removed twice behind berth's back: two drift.repaired, the same text, two events", async () => {
    for (let round = 1; round <= 2; round++) {
      const [running] = await eventually(
        async () => {
          const now = await world.running('web');
          return now.length === 1 && now;
        },
        15_000,
        'web running',
      );
      await dockerCli(['rm', '-f', running!.id]);
      await expect('drift.repaired', { count: round });
    }
    const repaired = await expect('drift.repaired', { count: 2 });
    assert.equal(repaired[0]!.message, repaired[1]!.message, 'the very same text');
    assert.match(repaired[0]!.message, /^repaired: created \S+web\S* \(/);
    assert.notEqual(repaired[0]!.id, repaired[1]!.id);
  });

  it('an invalid manifest, then valid again: manifest.invalid with file, line and col, then manifest.valid', async () => {
    const file = join(world.manifests, 'web.yaml');
    await writeFile(file, world.manifest('web', { ...first, replicas: -1 }));
    const [invalid] = await expect('manifest.invalid');
    assert.equal(invalid!.details.file, file);
    assert.ok(Number(invalid!.details.line) > 1 && Number(invalid!.details.col) >= 1);
    assert.match(String(invalid!.details.problem), /replicas/);
    assert.match(
      invalid!.message,
      new RegExp(`web\\.yaml:${invalid!.details.line}:${invalid!.details.col}: .*replicas`),
    );
    await world.writeManifest('web', first);
    const [valid] = await expect('manifest.valid');
    assert.equal(valid!.details.file, file);
  });

  it('a revision that crashes within deploy.monitor: deploy.rolled_back, and `rolled_back` in history --json, /api/apps and /metrics', async () => {
    await world.writeManifest('web', { tag: 'crashy', checks: { wait: 0 }, deploy: { retireAfter: 1, monitor: 30 } });
    const [rolledBack] = await expect('deploy.rolled_back', { timeoutMs: 45_000 });
    assert.equal(rolledBack!.details.tag, 'crashy');
    assert.equal(rolledBack!.details.image, `${world.namespace}/web`);
    assert.match(String(rolledBack!.details.reason), /within deploy\.monitor \(30s\) after the switch$/);
    const succeeded = (await sink.read()).filter((e) => e.type === 'deploy.succeeded');
    assert.equal(rolledBack!.details.revision, succeeded.at(-1)?.details.revision, 'the crashy revision');
    assert.equal(rolledBack!.details.to, succeeded[0]?.details.revision, 'back to v1');
    const [last] = JSON.parse((await world.cli(['history', 'web', '--json'])).stdout) as {
      tag: string;
      outcome: string;
    }[];
    assert.equal(`${last?.tag} ${last?.outcome}`, 'crashy rolled_back');
    const api = (await (await fetch(`http://127.0.0.1:${listen}/api/apps/web`)).json()) as {
      history: { outcome: string }[];
    };
    assert.equal(api.history[0]?.outcome, 'rolled_back');
    assert.match(
      await (await fetch(`http://127.0.0.1:${listen}/metrics`)).text(),
      /^berth_deploys_total\{app="web",result="rolled_back"\} 1$/m,
    );
    assert.match((await world.cli(['history', 'web'])).stdout, /crashy.* rolled back /, 'people read it with a space');
  });

  it('a deploy that fails its check: deploy.failed with the reason', async () => {
    // (That its backoff retries are said once is asserted in notifications.test.ts.)
    await world.writeManifest('web', {
      tag: 'v1',
      checks: { wait: 1 },
      command: ['sh', '-c', 'echo "cannot start"; exit 4'],
    });
    const [failed] = await expect('deploy.failed');
    assert.equal(failed!.details.tag, 'v1');
    assert.match(String(failed!.details.reason), /exit code 4/);
  });

  it('an app removed: app.removed; the sink got every event the timeline holds, in order', async () => {
    await rm(join(world.manifests, 'web.yaml'));
    await expect('app.removed');
    assert.deepEqual(
      (await sink.read()).map((e) => e.id),
      (await timeline()).map((e) => e.id),
    );
    assert.ok(!JSON.stringify(await sink.read()).includes(TOKEN), 'no env value in any event');
    assert.equal(await berth.stop(), 0);
  });
});
