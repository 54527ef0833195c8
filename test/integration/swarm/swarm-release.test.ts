/**
 * The release step and the post-deploy command on a real single-node swarm (the shared engine,
 * `docker swarm init` when it is in none, left again after): each a Swarm job of the new revision
 * (mode replicated-job, restart policy none, the digest-pinned image), the release once per
 * revision across a berth killed mid-release and restarted, a failing release that keeps the old
 * revision serving and holds the new one with its output redacted, and no job left behind.
 */
import { strict as assert } from 'node:assert';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage, dockerCli } from '../../support/docker.js';
import { pushTo, SHARED_REGISTRY } from '../../support/registry.js';
import { Scenario } from '../../support/scenario.js';
import { ensureSwarm, inspectService, removeServices, type Swarm } from '../../support/swarm.js';

describe('release and postDeploy as Swarm jobs (a real single-node swarm)', function () {
  this.timeout(120_000);
  const SECRET = 'hunter2-never-shown';
  let world: Scenario;
  let swarm: Swarm;
  let volume: string;
  const digests: Record<string, string> = {};

  before(async function () {
    // Another file may hold the swarm for minutes (ensureSwarm waits its turn): the wait is not this hook's time.
    this.timeout(900_000);
    swarm = await ensureSwarm();
    world = await Scenario.create();
    volume = `${world.namespace}-data`;
    for (const tag of ['v1', 'v2']) {
      const id = await buildTestImage(`${world.namespace}/web`, tag, { body: tag });
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
    await dockerCli(['volume', 'rm', '-f', volume]).catch(() => undefined);
    await world.cleanup();
    await swarm.release();
  });

  const image = () => `${SHARED_REGISTRY}/${world.namespace}/web`;
  const manifest = (tag: string, release: string, extra: Record<string, unknown> = {}) => ({
    image: image(),
    tag,
    env: { DB_PASSWORD: SECRET },
    volumes: [{ source: volume, target: '/data' }],
    checks: { http: [{ path: '/health', content: 'ok', attempts: 3, wait: 1, timeout: 2 }] },
    deploy: { monitor: 0 },
    release: { command: ['sh', '-c', release], timeout: 60 },
    ...extra,
  });
  const web = async () => (await world.status()).find((a) => a.app === 'web');
  const swarmFlags = ['--runtime', 'swarm'];
  /** The namespace's jobs (services labelled with a berth.role), by id. */
  const jobs = async () =>
    (
      await dockerCli([
        'service',
        'ls',
        '-q',
        '--filter',
        `label=berth.namespace=${world.namespace}`,
        '--filter',
        'label=berth.role',
      ])
    )
      .split('\n')
      .filter(Boolean);
  /** How many lines a file on the shared volume has, read through a task of the service. */
  const linesIn = async (file: string) => {
    const [task] = (await world.running('web')).filter((c) => c.labels['berth.role'] === undefined);
    if (!task) throw new Error('no task of the service runs');
    return (await dockerCli(['exec', task.id, '/bin/busybox', 'cat', `/data/${file}`]).catch(() => ''))
      .split('\n')
      .filter(Boolean).length;
  };
  const history = async () =>
    JSON.parse((await world.cli(['history', 'web', '--json'])).stdout) as {
      tag: string;
      outcome: string;
      reason?: string;
      output?: string;
      postDeploy?: string;
    }[];

  it('runs the release as a replicated job (restart none) of the pinned image before any task; a berth killed mid-release waits for that job on restart; postDeploy runs once after the rollout; nothing is rerun on restart', async () => {
    await world.writeManifest(
      'web',
      manifest('v1', '/bin/busybox sleep 5; echo ran >> /data/releases', {
        postDeploy: { command: ['sh', '-c', 'echo post >> /data/posts'] },
      }),
    );
    let berth: BerthProcess = world.start(swarmFlags);
    const [job] = await eventually(
      async () => {
        const ids = await jobs();
        return ids.length > 0 ? ids : undefined;
      },
      60_000,
      'the release job made',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(20)}`);
    });
    const [spec] = JSON.parse(await dockerCli(['service', 'inspect', job!])) as {
      Spec: {
        Name: string;
        Labels: Record<string, string>;
        Mode: unknown;
        TaskTemplate: { RestartPolicy: { Condition: string }; ContainerSpec: { Image: string } };
      };
    }[];
    assert.deepEqual(spec?.Spec.Mode, { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } });
    assert.equal(spec?.Spec.TaskTemplate.RestartPolicy.Condition, 'none');
    assert.equal(spec?.Spec.TaskTemplate.ContainerSpec.Image, `${image()}:v1@${digests.v1}`);
    assert.equal(spec?.Spec.Labels['berth.role'], 'release');
    assert.equal(await inspectService(`${world.namespace}_web`), undefined, 'no service before the release ends');
    await eventually(
      async () =>
        (await dockerCli(['service', 'ps', job!, '--format', '{{.CurrentState}}'])).toLowerCase().startsWith('running'),
      30_000,
      'the release task running',
    );
    await berth.stop('SIGKILL');
    const plan = await world.cli(['plan', ...swarmFlags, '--manifests', world.manifests]);
    assert.match(plan.stdout, new RegExp(`▶ wait for the release job ${spec?.Spec.Name} under way`));

    berth = world.start(swarmFlags);
    await berth.waitForLog((l) => /already under way \(job .*\); waiting for it/.test(l.msg), 30_000);
    await eventually(async () => (await web())?.phase === 'Running', 60_000, 'v1 Running').catch((error: Error) => {
      throw new Error(`${error.message}\n${berth.tail(20)}`);
    });
    assert.equal(await linesIn('releases'), 1, 'the release of v1 ran once, though two berths deployed it');
    assert.equal(await linesIn('posts'), 1, 'the post-deploy command ran once, after the rollout');
    assert.equal((await history())[0]?.postDeploy, 'succeeded');
    assert.deepEqual(await jobs(), [], 'the jobs are removed');
    assert.equal(await berth.stop(), 0);

    berth = world.start(swarmFlags);
    // Its first pass over the app comes at once; a few seconds cover it.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    assert.ok(!berth.logs.some((l) => l.step === 'release-step'), 'a restart releases nothing');
    assert.equal(await linesIn('releases'), 1);
    assert.equal(await berth.stop(), 0);
  });

  it('a failing release keeps v1 serving, holds v2 and shows its output, the password redacted, in berth history', async () => {
    const v1Service = await inspectService(`${world.namespace}_web`);
    await world.writeManifest('web', manifest('v2', 'echo applying 0042; echo password is $DB_PASSWORD; exit 3'));
    const berth = world.start([...swarmFlags, '--resync', '1']);
    const failed = await berth.waitForLog((l) => l.app === 'web' && l.result === 'failed', 60_000);
    assert.match(failed.msg, /^web: deploy failed: the release step \["sh","-c",".*"\] exited with code 3$/);
    const [entry] = await history();
    assert.equal(`${entry?.tag} ${entry?.outcome}`, 'v2 failed');
    assert.equal(entry?.output, 'applying 0042\npassword is <redacted>', 'read through the service logs API');
    const table = (await world.cli(['history', 'web'])).stdout;
    assert.match(table, /v2 .*failed.*exited with code 3/);
    assert.equal(table.includes(SECRET), false);

    const service = await inspectService(`${world.namespace}_web`);
    assert.equal(service?.image, `${image()}:v1@${digests.v1}`, 'the service was never sent v2');
    assert.equal(service?.version, v1Service?.version);
    // The next pass (a resync a second later) says it is held.
    await eventually(
      async () =>
        /:v2 is held after it failed \(the release step .* exited with code 3\)/.test((await web())?.message ?? ''),
      10_000,
      'v2 held',
    );
    assert.equal((await web())?.phase, 'Degraded');
    assert.equal(await linesIn('releases'), 1, 'v1 keeps serving (its volume as it was)');

    // Resyncs every second meanwhile: the held revision is not released again.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    assert.equal(berth.logs.filter((l) => /^Running the release step/.test(l.msg)).length, 1);
    assert.deepEqual(await jobs(), [], 'the failed job is removed');
    assert.equal(JSON.stringify(berth.logs).includes(SECRET), false, 'no password in berth’s log');
    assert.equal(await berth.stop(), 0);
  });
});
