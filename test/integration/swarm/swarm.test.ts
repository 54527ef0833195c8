/**
 * `berth run --runtime swarm` on a real single-node swarm (the shared engine, `docker swarm init`
 * when it is in none, left again after): each app one replicated service, updates rolled out by
 * Swarm and watched by berth, a failed update rolled back and recorded as failed.
 */
import { strict as assert } from 'node:assert';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../../support/berth-process.js';
import { buildTestImage } from '../../support/docker.js';
import { pushTo, SHARED_REGISTRY } from '../../support/registry.js';
import { Scenario } from '../../support/scenario.js';
import { ensureSwarm, inspectService, removeServices, runningTasks, type Swarm } from '../../support/swarm.js';

describe('berth run --runtime swarm (a single-node swarm)', function () {
  this.timeout(240_000);
  let world: Scenario;
  let swarm: Swarm;
  const digests: Record<string, string> = {};

  before(async () => {
    swarm = await ensureSwarm();
    world = await Scenario.create();
    for (const [tag, health] of [['v1', 'ok'], ['v2', 'ok'], ['bad', 'nope']] as const) {
      const id = await buildTestImage(`${world.namespace}/web`, tag, { body: tag, extraFiles: { health } });
      digests[tag] = await pushTo(SHARED_REGISTRY, id, `${world.namespace}/web`, tag);
    }
  });
  // A test that fails leaves no berth running to hold the namespace's lock for the next.
  afterEach(async () => {
    await Promise.all(world.processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
  });
  after(async () => {
    await Promise.all(world.processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
    await removeServices(world.namespace);
    await world.cleanup();
    await swarm.release();
  });

  const service = () => inspectService(`${world.namespace}_web`);
  const image = (_tag: string) => `${SHARED_REGISTRY}/${world.namespace}/web`;
  const manifest = (tag: string, extra: Record<string, unknown> = {}) => ({
    image: image(tag),
    tag,
    replicas: 2,
    checks: { http: [{ path: '/health', content: 'ok', attempts: 3, wait: 1, timeout: 2 }] },
    ...extra,
  });
  const web = async () => (await world.status()).find((a) => a.app === 'web');

  it('deploys each app as one labelled service pinned by digest, rolls a tag edit out, and sends nothing while in sync', async () => {
    await world.writeManifest('web', manifest('v1'));
    const plan = await world.cli(['plan', '--runtime', 'swarm', '--manifests', world.manifests, '--exit-code']);
    assert.equal(plan.code, 2, plan.stdout + plan.stderr);
    assert.equal(plan.stdout, [
      `web: deploy ${image('v1')}:v1 (zero-downtime)`,
      `  + create service ${world.namespace}_web (${image('v1')}:v1@${digests.v1}, 2 replica(s), start-first)  (deploy ${image('v1')}:v1)`,
      '',
    ].join('\n'));
    const berth = world.start(['--runtime', 'swarm', '--resync', '2']);
    await eventually(async () => (await web())?.phase === 'Running', 60_000, 'web Running').catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(20)}`);
    });
    const created = await service();
    assert.equal(created?.image, `${image('v1')}:v1@${digests.v1}`, 'pinned to the digest the registry serves');
    assert.deepEqual([created?.labels['berth.managed'], created?.labels['berth.namespace'], created?.labels['berth.app']], ['true', world.namespace, 'web']);
    assert.equal(created?.replicas, 2);
    const containers = await world.running('web');
    assert.equal(containers.length, 2, 'the task containers carry berth labels too');

    // Resyncs every 2 s judge the service in sync: no update is sent (it would reset Swarm's update status).
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    assert.equal((await service())?.version, created?.version, 'no-op resyncs sent nothing');
    const inSync = await world.cli(['plan', '--runtime', 'swarm', '--manifests', world.manifests, '--exit-code']);
    assert.equal(inSync.code, 0, inSync.stdout);
    assert.match(inSync.stdout, /^web: up to date: Running, 2 × .*web:v1 running\n$/);

    await world.writeManifest('web', manifest('v2'));
    await berth.waitForLog((l) => l.step === 'deployed' && String(l.image).endsWith('/web:v2'), 90_000);
    const updated = await service();
    assert.equal(updated?.image, `${image('v2')}:v2@${digests.v2}`);
    assert.equal(updated?.updateState, 'completed');
    await eventually(async () => (await runningTasks(`${world.namespace}_web`)).filter((t) => t.state === 'running').length === 2, 30_000, 'two v2 tasks');
    const history = JSON.parse((await world.cli(['history', 'web', '--json'])).stdout) as { tag: string; outcome: string }[];
    assert.deepEqual(history.map((h) => `${h.tag} ${h.outcome}`), ['v2 succeeded', 'v1 succeeded']);
    assert.equal(await berth.stop(), 0);
  });

  it('a tag that fails its checks is rolled back by Swarm and recorded as a failed deploy; the old tasks keep serving', async () => {
    const before = (await runningTasks(`${world.namespace}_web`)).map((t) => t.id).sort();
    await world.writeManifest('web', manifest('bad'));
    const berth = world.start(['--runtime', 'swarm']);
    const failed = await berth.waitForLog((l) => l.app === 'web' && l.result === 'failed', 120_000);
    assert.match(failed.msg, /web: deploy failed: Swarm rolled back the update: .*; task .*_web\.\d(: .*unhealthy| ended \(.*\) without passing its checks)/);
    const status = await eventually(async () => {
      const now = await web();
      return now?.phase === 'Degraded' ? now : undefined;
    }, 10_000, 'web Degraded');
    assert.match(status.lastError ?? '', /rolled back/);
    const history = JSON.parse((await world.cli(['history', 'web', '--json'])).stdout) as { tag: string; outcome: string }[];
    assert.equal(`${history[0]?.tag} ${history[0]?.outcome}`, 'bad failed', 'a rollback is a failed deploy, never a success');
    await eventually(async () => (await service())?.image === `${image('v2')}:v2@${digests.v2}`, 60_000, 'the service back on v2');
    await eventually(async () => (await runningTasks(`${world.namespace}_web`)).filter((t) => t.state === 'running').map((t) => t.id).sort().join() === before.join(), 60_000, 'the same v2 tasks serving');
    assert.equal(await berth.stop(), 0);
  });

  it('past deploy.progressDeadline berth has Swarm roll the update back, and records it as failed', async () => {
    // attempts 30 × 1 s: Swarm alone would take half a minute to call the task unhealthy.
    await world.writeManifest('web', manifest('bad', { checks: { http: [{ path: '/health', content: 'ok', attempts: 30, wait: 1, timeout: 1 }] }, deploy: { progressDeadline: 6 } }));
    const berth = world.start(['--runtime', 'swarm']);
    const failed = await berth.waitForLog((l) => l.app === 'web' && l.result === 'failed', 60_000);
    assert.match(failed.msg, /web: deploy failed: the update did not complete within deploy\.progressDeadline; berth asked Swarm to roll it back/);
    await eventually(async () => (await service())?.image === `${image('v2')}:v2@${digests.v2}`, 60_000, 'the service rolled back to v2');
    assert.equal(await berth.stop(), 0);
  });

  it('a berth killed mid-rollout watches the rollout to its end when it starts again', async () => {
    // A 3 s health interval makes the rollout of two replicas last several seconds.
    await world.writeManifest('web', manifest('v1', { checks: { http: [{ path: '/health', content: 'ok', attempts: 3, wait: 3, timeout: 2 }] } }));
    const first = world.start(['--runtime', 'swarm']);
    await first.waitForLog((l) => l.step === 'update', 60_000);
    await first.stop('SIGKILL');
    assert.equal((await service())?.updateState, 'updating', 'Swarm is mid-rollout');
    const second = world.start(['--runtime', 'swarm']);
    await second.waitForLog((l) => l.app === 'web' && /already; watching it/.test(l.msg), 30_000);
    await second.waitForLog((l) => l.step === 'deployed' && String(l.image).endsWith('/web:v1'), 90_000);
    assert.equal((await service())?.updateState, 'completed');
    const history = JSON.parse((await world.cli(['history', 'web', '--json'])).stdout) as { tag: string; outcome: string }[];
    assert.equal(`${history[0]?.tag} ${history[0]?.outcome}`, 'v1 succeeded');
    assert.equal(await second.stop(), 0);
  });

  it('removes the service of a deleted manifest', async () => {
    const berth = world.start(['--runtime', 'swarm', '--allow-empty']);
    await eventually(async () => (await web())?.phase === 'Running', 90_000, 'web Running');
    await rm(join(world.manifests, 'web.yaml'));
    await eventually(async () => (await service()) === undefined, 30_000, 'the service removed');
    assert.equal(await berth.stop(), 0);
  });
});

