/**
 * `berth run --runtime swarm` on a real single-node swarm (the shared engine, `docker swarm init`
 * when it is in none, left again after): each app one replicated service, updates rolled out by
 * Swarm and watched by berth, a failed update rolled back and recorded as failed.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../../support/berth-process.js';
import { ageEncrypt, ageKeygen } from '../../support/age.js';
import { buildTestImage, dockerCli } from '../../support/docker.js';
import { PrivateRegistry, pushTo, SHARED_REGISTRY } from '../../support/registry.js';
import { Scenario } from '../../support/scenario.js';
import { ensureSwarm, inspectService, removeServices, runningTasks, type Swarm } from '../../support/swarm.js';
import { SwarmNode } from '../../support/swarm-node.js';
import { startLoad } from '../../support/load.js';
import { PrivateNginx } from '../../support/nginx.js';

describe('berth run --runtime swarm (a real swarm: the shared engine as manager, then a second node)', function () {
  this.timeout(240_000);
  let world: Scenario;
  let swarm: Swarm;
  let node: SwarmNode;
  const digests: Record<string, string> = {};

  before(async function () {
    // Another file may hold the swarm for minutes (ensureSwarm waits its turn): the wait is not this hook's time.
    this.timeout(900_000);
    // The second node is started first: the manager must advertise an address it can reach.
    node = await SwarmNode.start();
    swarm = await ensureSwarm(node.hostAddress);
    world = await Scenario.create();
    for (const [tag, health] of [
      ['v1', 'ok'],
      ['v2', 'ok'],
      ['bad', 'nope'],
    ] as const) {
      const id = await buildTestImage(`${world.namespace}/web`, tag, { body: tag, extraFiles: { health } });
      digests[tag] = await pushTo(SHARED_REGISTRY, id, `${world.namespace}/web`, tag);
    }
  });
  // A test that fails leaves no berth running to hold the namespace's lock for the next.
  afterEach(async () => {
    await world.killProcesses();
  });
  after(async () => {
    await world.killProcesses();
    await removeServices(world.namespace);
    await node.stop();
    await world.cleanup();
    await swarm.release();
  });

  const service = () => inspectService(`${world.namespace}_web`);
  const image = (_tag: string) => `${SHARED_REGISTRY}/${world.namespace}/web`;
  // Published on every address, as Swarm does, and no retireAfter (which Swarm does not use): nothing to warn of.
  const manifest = (tag: string, extra: Record<string, unknown> = {}) => ({
    image: image(tag),
    tag,
    replicas: 2,
    ports: [{ container: 8080, hostIp: '0.0.0.0' }],
    deploy: {},
    checks: { http: [{ path: '/health', content: 'ok', attempts: 3, wait: 1, timeout: 2 }] },
    ...extra,
  });
  const web = async () => (await world.status()).find((a) => a.app === 'web');

  it('deploys each app as one labelled service pinned by digest, rolls a tag edit out, and sends nothing while in sync', async () => {
    await world.writeManifest('web', manifest('v1'));
    const plan = await world.cli(['plan', '--runtime', 'swarm', '--manifests', world.manifests, '--exit-code']);
    assert.equal(plan.code, 2, plan.stdout + plan.stderr);
    assert.equal(
      plan.stdout,
      [
        `web: deploy ${image('v1')}:v1 (zero-downtime)`,
        `  + create service ${world.namespace}_web (${image('v1')}:v1@${digests.v1}, 2 replica(s), start-first)  (deploy ${image('v1')}:v1)`,
        '',
      ].join('\n'),
    );
    const berth = world.start(['--runtime', 'swarm', '--resync', '2']);
    await eventually(async () => (await web())?.phase === 'Running', 60_000, 'web Running').catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(20)}`);
    });
    const created = await service();
    assert.equal(created?.image, `${image('v1')}:v1@${digests.v1}`, 'pinned to the digest the registry serves');
    assert.deepEqual(
      [created?.labels['berth.managed'], created?.labels['berth.namespace'], created?.labels['berth.app']],
      ['true', world.namespace, 'web'],
    );
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
    await eventually(
      async () => (await runningTasks(`${world.namespace}_web`)).filter((t) => t.state === 'running').length === 2,
      30_000,
      'two v2 tasks',
    );
    const history = JSON.parse((await world.cli(['history', 'web', '--json'])).stdout) as {
      tag: string;
      outcome: string;
    }[];
    assert.deepEqual(
      history.map((h) => `${h.tag} ${h.outcome}`),
      ['v2 succeeded', 'v1 succeeded'],
    );
    assert.equal(await berth.stop(), 0);
  });

  it('a tag that fails its checks is rolled back by Swarm and recorded as a failed deploy; an old task the update never reached still serves, beside a v2 task again', async () => {
    // The v2 tasks alone: a v1 task of the previous rollout may still be shutting down.
    const v2Tasks = async () =>
      (await runningTasks(`${world.namespace}_web`))
        .filter((t) => t.state === 'running' && t.image.includes(digests.v2!))
        .map((t) => t.id)
        .sort();
    const before = await eventually(
      async () => {
        const ids = await v2Tasks();
        return ids.length === 2 ? ids : undefined;
      },
      30_000,
      'two v2 tasks running',
    );
    await world.writeManifest('web', manifest('bad'));
    const berth = world.start(['--runtime', 'swarm']);
    const failed = await berth.waitForLog((l) => l.app === 'web' && l.result === 'failed', 120_000);
    assert.match(
      failed.msg,
      /web: deploy failed: Swarm rolled back the update: .*; task .*_web\.\d(: .*unhealthy| ended \(.*\) without passing its checks)/,
    );
    const status = await eventually(
      async () => {
        const now = await web();
        return now?.phase === 'Degraded' ? now : undefined;
      },
      10_000,
      'web Degraded',
    );
    assert.match(status.lastError ?? '', /rolled back/);
    const history = JSON.parse((await world.cli(['history', 'web', '--json'])).stdout) as {
      tag: string;
      outcome: string;
    }[];
    assert.equal(
      `${history[0]?.tag} ${history[0]?.outcome}`,
      'bad failed',
      'a rollback is a failed deploy, never a success',
    );
    await eventually(
      async () => (await service())?.image === `${image('v2')}:v2@${digests.v2}`,
      60_000,
      'the service back on v2',
    );
    // Two v2 tasks serve; the one the bad task never replaced is still the same task (a loaded
    // machine may make Swarm restart a v2 task whose own healthcheck timed out: that is Swarm's).
    const after = await eventually(
      async () => {
        const ids = await v2Tasks();
        return ids.length === 2 ? ids : undefined;
      },
      60_000,
      'two v2 tasks serving',
    );
    assert.ok(
      after.some((id) => before.includes(id)),
      `an old v2 task kept serving: before ${before.join()}, after ${after.join()}`,
    );
    assert.equal(await berth.stop(), 0);
  });

  it('past deploy.progressDeadline berth has Swarm roll the update back, and records it as failed', async () => {
    // attempts 30 × 1 s: Swarm alone would take half a minute to call the task unhealthy.
    await world.writeManifest(
      'web',
      manifest('bad', {
        checks: { http: [{ path: '/health', content: 'ok', attempts: 30, wait: 1, timeout: 1 }] },
        deploy: { progressDeadline: 6 },
      }),
    );
    const berth = world.start(['--runtime', 'swarm']);
    const failed = await berth.waitForLog((l) => l.app === 'web' && l.result === 'failed', 60_000);
    assert.match(
      failed.msg,
      /web: deploy failed: the update did not complete within deploy\.progressDeadline; berth asked Swarm to roll it back/,
    );
    await eventually(
      async () => (await service())?.image === `${image('v2')}:v2@${digests.v2}`,
      60_000,
      'the service rolled back to v2',
    );
    assert.equal(await berth.stop(), 0);
  });

  it('a berth killed mid-rollout watches the rollout to its end when it starts again', async () => {
    // A 3 s health interval makes the rollout of two replicas last several seconds.
    await world.writeManifest(
      'web',
      manifest('v1', { checks: { http: [{ path: '/health', content: 'ok', attempts: 3, wait: 3, timeout: 2 }] } }),
    );
    const first = world.start(['--runtime', 'swarm']);
    await first.waitForLog((l) => l.step === 'update', 60_000);
    await first.stop('SIGKILL');
    assert.equal((await service())?.updateState, 'updating', 'Swarm is mid-rollout');
    const second = world.start(['--runtime', 'swarm']);
    await second.waitForLog((l) => l.app === 'web' && /already; watching it/.test(l.msg), 30_000);
    await second.waitForLog((l) => l.step === 'deployed' && String(l.image).endsWith('/web:v1'), 90_000);
    assert.equal((await service())?.updateState, 'completed');
    const history = JSON.parse((await world.cli(['history', 'web', '--json'])).stdout) as {
      tag: string;
      outcome: string;
    }[];
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

  it("envFrom and secrets become the tasks' env and Docker secrets at their targets; a rotation rolls out a new secret, the unused ones go, and all go with the app", async () => {
    const key = join(world.root, 'swarm-key.txt');
    await ageKeygen(key);
    const encrypt = (name: string, text: string) => ageEncrypt(key, join(world.manifests, 'secrets', name), text);
    const values = ['swarm-pw-Kq71', 'swarm-file-Rt52', 'swarm-file-Rt53', 'swarm-file-Rt54'];
    await encrypt('vault.env.age', `DB_PASSWORD=${values[0]}\n`);
    await encrypt('db.age', values[1]!);
    await world.writeManifest('vault', {
      ...manifest('v1', { replicas: 1 }),
      envFrom: [{ file: 'secrets/vault.env.age' }],
      secrets: [{ file: 'secrets/db.age', target: '/run/secrets/db_password' }],
    });
    const secrets = async () =>
      (
        await dockerCli([
          'secret',
          'ls',
          '--filter',
          `label=berth.namespace=${world.namespace}`,
          '--format',
          '{{.Name}}',
        ])
      )
        .split('\n')
        .filter(Boolean)
        .sort();
    const task = async () =>
      (await dockerCli(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${world.namespace}_vault`]))
        .trim()
        .split('\n')[0]!;
    const fileInTask = async () =>
      dockerCli(['exec', await task(), '/bin/busybox', 'cat', '/run/secrets/db_password']).catch(() => '');
    const berth = world.start(['--runtime', 'swarm', '--allow-empty', '--age-identity', key]);
    await eventually(
      async () => (await world.status()).find((a) => a.app === 'vault')?.phase === 'Running',
      90_000,
      'vault Running',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(10)}`);
    });
    assert.match(
      await dockerCli(['exec', await task(), '/bin/busybox', 'env']),
      new RegExp(`^DB_PASSWORD=${values[0]}$`, 'm'),
    );
    assert.equal(await fileInTask(), values[1]);
    const [first] = await secrets();
    assert.match(first ?? '', new RegExp(`^${world.namespace}_vault_[0-9a-f]{12}_0$`));
    const labels = (await inspectService(`${world.namespace}_vault`))?.labels ?? {};
    for (const value of values) assert.ok(!JSON.stringify(labels).includes(value), "no value in the service's labels");

    // Each rotation (the encrypted file alone changes) rolls out a new secret; the one before stays for a rollback, older ones go.
    for (const value of values.slice(2)) {
      await encrypt('db.age', value);
      await eventually(async () => (await fileInTask()) === value, 60_000, `the task reads ${value}`);
    }
    await eventually(
      async () => (await secrets()).length === 2 && !(await secrets()).includes(first!),
      30_000,
      'the current and previous secrets alone',
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${(await secrets()).join(', ')}`);
    });
    for (const value of values)
      assert.ok(!berth.logs.some((l) => JSON.stringify(l).includes(value)), 'no value in the logs');

    await rm(join(world.manifests, 'vault.yaml'));
    await eventually(
      async () => (await inspectService(`${world.namespace}_vault`)) === undefined && (await secrets()).length === 0,
      30_000,
      'the service and its secrets gone',
    );
    assert.equal(await berth.stop(), 0);

    // Secrets of a service that went while berth was down are removed when it starts.
    const ghostLabels = ['berth.managed=true', `berth.namespace=${world.namespace}`, 'berth.app=ghost'].flatMap((l) => [
      '--label',
      l,
    ]);
    await writeFile(join(world.root, 'ghost-secret'), 'ghost');
    await dockerCli([
      'secret',
      'create',
      ...ghostLabels,
      `${world.namespace}_ghost_000000000000_0`,
      join(world.root, 'ghost-secret'),
    ]);
    const again = world.start(['--runtime', 'swarm', '--allow-empty', '--age-identity', key]);
    await eventually(async () => (await secrets()).length === 0, 30_000, 'the leftover secret removed');
    assert.equal(await again.stop(), 0);
  });

  it('an image only this host has (docker load) is pushed to --swarm-registry once and deployed by digest; its exec check needs no shell', async () => {
    await buildTestImage(`${world.namespace}/loaded`, 'v1', { body: 'loaded', shell: false });
    const probe = ['/bin/busybox', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/health'];
    await world.writeManifest('loaded', {
      tag: 'v1',
      replicas: 1,
      checks: { exec: [{ command: probe, attempts: 3, wait: 1, timeout: 2 }] },
    });
    const plan = await world.cli([
      'plan',
      '--runtime',
      'swarm',
      '--swarm-registry',
      SHARED_REGISTRY,
      '--manifests',
      world.manifests,
    ]);
    assert.match(
      plan.stdout,
      new RegExp(
        `^loaded: repair\\n {2}↑ push ${world.namespace}/loaded:v1 as ${SHARED_REGISTRY}/${world.namespace}/loaded:v1 `,
        'm',
      ),
    );
    const berth = world.start(['--runtime', 'swarm', '--swarm-registry', SHARED_REGISTRY, '--resync', '2']);
    await eventually(
      async () => (await world.status()).find((a) => a.app === 'loaded')?.phase === 'Running',
      90_000,
      'loaded Running',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(10)}`);
    });
    assert.match(
      (await inspectService(`${world.namespace}_loaded`))?.image ?? '',
      new RegExp(`^${SHARED_REGISTRY}/${world.namespace}/loaded:v1@sha256:[0-9a-f]{64}$`),
    );
    const healthcheck = JSON.parse(
      await dockerCli([
        'service',
        'inspect',
        '--format',
        '{{json .Spec.TaskTemplate.ContainerSpec.Healthcheck.Test}}',
        `${world.namespace}_loaded`,
      ]),
    ) as string[];
    assert.deepEqual(healthcheck, ['CMD', ...probe], 'the probe runs as written, without a shell');
    const [task] = (
      await dockerCli(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${world.namespace}_loaded`])
    )
      .trim()
      .split('\n');
    assert.equal((await dockerCli(['inspect', '--format', '{{.State.Health.Status}}', task!])).trim(), 'healthy');
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    assert.equal(berth.logs.filter((l) => l.step === 'push').length, 1, 'pushed once; resyncs push nothing');
    assert.equal(await berth.stop(), 0);
    await rm(join(world.manifests, 'loaded.yaml'));
    await removeServices(world.namespace);
  });

  it("through berth's nginx, tag edits roll out start-first with zero failed requests under load", async () => {
    const nginx = await PrivateNginx.start();
    const host = 'shop.swarm.test';
    const shop = (tag: string) => ({ ...manifest(tag), domains: [host], deploy: { progressDeadline: 120 } });
    try {
      await world.writeManifest('shop', shop('v1'));
      const berth = world.start(['--runtime', 'swarm', ...nginx.berthFlags()]);
      await eventually(
        async () => (await nginx.get(host)).body === 'v1',
        90_000,
        'nginx to serve v1 from the tasks',
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${berth.tail(10)}`);
      });
      // One answer from v1 can come from the new worker while the old one, without the block, still accepts.
      await nginx.settled();
      const load = startLoad(
        () => nginx.get(host, '/', 10_000),
        (body) => body === 'v1' || body === 'v2',
      );
      try {
        let deploys = 1;
        for (const tag of ['v2', 'v1', 'v2']) {
          load.result.firstSeen.clear();
          await world.writeManifest('shop', shop(tag));
          deploys++;
          await eventually(
            async () => berth.logs.filter((l) => l.app === 'shop' && l.step === 'deployed').length >= deploys,
            90_000,
            `${tag} deployed`,
          ).catch(async (error: Error) => {
            // What berth and Swarm were doing, to tell a stalled rollout from a slow one.
            const tasks = await dockerCli(['service', 'ps', '--no-trunc', `${world.namespace}_shop`]).catch(String);
            throw new Error(`${error.message}\n${berth.tail(30)}\n${tasks}`);
          });
          await eventually(async () => load.result.firstSeen.has(tag), 10_000, `${tag} through nginx`);
        }
      } finally {
        await load.stop();
      }
      const result = load.result;
      assert.ok(result.requests > 100, `load ran (${result.requests} requests)`);
      // On failure, what berth did to nginx around then.
      const proxySteps = berth.logs
        .filter((l) => l.step === 'proxy' || l.app === 'shop')
        .slice(-25)
        .map((l) => `${String(l.time)} ${String(l.msg)}`)
        .join('\n');
      assert.deepEqual(
        result.failures.slice(0, 3),
        [],
        `${result.failures.length} failed of ${result.requests}, first at ${result.failures[0]?.at}; berth:\n${proxySteps}`,
      );
      assert.equal(await berth.stop(), 0);
    } finally {
      await world.killProcesses();
      await rm(join(world.manifests, 'shop.yaml'), { force: true });
      await removeServices(world.namespace);
      await nginx.stop();
    }
  });

  it("a lost node: Swarm reschedules its replica on the other, and berth reports Degraded, then Running, without acting; both nodes pulled with berth's credentials", async () => {
    // The image is in a registry that demands a password; neither engine has it: berth's
    // config.json credentials go with the service, so a replica on each node proves they reach both.
    const USER = 'swarm-deployer';
    const PASSWORD = 'Pw-swarm-58k';
    const secure = await PrivateRegistry.start({ user: USER, password: PASSWORD });
    try {
      node.forwardPort(Number(secure.address.split(':')[1]));
      const config = await mkdtemp(join(tmpdir(), 'berth-swarm-docker-config-'));
      await writeFile(
        join(config, 'config.json'),
        JSON.stringify({
          auths: { [secure.address]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } },
        }),
      );
      const privateImage = `${secure.address}/${world.namespace}/spread`;
      await dockerCli(['tag', `${world.namespace}/web:v1`, `${privateImage}:v1`]);
      await dockerCli(['--config', config, 'push', `${privateImage}:v1`]);
      await dockerCli(['rmi', `${privateImage}:v1`]);
      await lostNode(privateImage, config);
      await rm(config, { recursive: true, force: true });
    } finally {
      await secure.stop();
    }
  });

  async function lostNode(privateImage: string, dockerConfig: string): Promise<void> {
    await node.join((await dockerCli(['swarm', 'join-token', '-q', 'worker'])).trim(), node.hostAddress);
    await eventually(
      async () =>
        (await dockerCli(['node', 'ls', '--format', '{{.Status}}']))
          .trim()
          .split('\n')
          .filter((s) => s === 'Ready').length === 2,
      30_000,
      'two Ready nodes',
    );
    await world.writeManifest('spread', {
      image: privateImage,
      tag: 'v1',
      replicas: 2,
      checks: { http: [{ path: '/health', content: 'ok', attempts: 3, wait: 1, timeout: 2 }] },
    });
    const berth = world.start(['--runtime', 'swarm', '--resync', '1'], { DOCKER_CONFIG: dockerConfig });
    const spread = `${world.namespace}_spread`;
    // Node ids, not names: both engines run on this machine and share its hostname.
    const nodesOf = async () => {
      const ids = (await dockerCli(['service', 'ps', '-q', spread, '--filter', 'desired-state=running']))
        .trim()
        .split('\n')
        .filter(Boolean);
      if (ids.length === 0) return [];
      return (await dockerCli(['inspect', '--format', '{{.NodeID}} {{.Status.State}}', ...ids]))
        .trim()
        .split('\n')
        .filter((l) => l.endsWith(' running'))
        .map((l) => l.split(' ')[0])
        .sort();
    };
    await eventually(
      async () => new Set(await nodesOf().catch(() => [])).size === 2,
      90_000,
      'one replica on each node',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(10)}`);
    });
    await eventually(
      async () => (await world.status()).find((a) => a.app === 'spread')?.phase === 'Running',
      30_000,
      'spread Running',
    );

    const phases = new Set<string>();
    const watching = setInterval(
      () =>
        void world
          .status()
          .then((apps) => phases.add(apps.find((a) => a.app === 'spread')?.phase ?? ''))
          .catch(() => undefined),
      200,
    );
    try {
      await node.pause();
      await eventually(
        async () => (await nodesOf()).length === 2 && new Set(await nodesOf()).size === 1,
        120_000,
        'both replicas on the manager',
      );
      await eventually(
        async () =>
          phases.has('Degraded') && (await world.status()).find((a) => a.app === 'spread')?.phase === 'Running',
        30_000,
        'Degraded while it happened, Running after',
      ).catch((error: Error) => {
        throw new Error(`${error.message}: phases seen ${[...phases].join(', ')}\n${berth.tail(10)}`);
      });
    } finally {
      clearInterval(watching);
    }
    assert.equal(
      berth.logs.filter((l) => l.app === 'spread' && l.step === 'update').length,
      0,
      'berth sent no update of its own',
    );
    const stopping = Date.now();
    const code = await berth.stop('SIGTERM', 90_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(25)}`);
    });
    assert.equal(code, 0, `exit code after ${Date.now() - stopping} ms`);
  }
});
