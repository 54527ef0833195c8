/**
 * berth itself survives a lost node (leader election), on a real three-manager swarm: three extra
 * engines, each in its own network namespace (10.213.x.x, a range no other test uses), the main
 * engine left out of that swarm. Two berth replicas run as `berth run --runtime swarm` processes,
 * each pointed at its own manager's socket (DOCKER_HOST), with its own state dir, --listen port
 * and nginx, the same manifests, and a 6 s lease. The issue's cases, in order on one swarm:
 * exactly one leads and one update is sent per change; the leader SIGKILLed; the leader SIGSTOPped
 * past its lease; the leader's engine stopped, and a failed rollout rolled back by the new leader.
 * Every replica's nginx routes to the tasks of both nodes they run on.
 *
 * The main engine stays out of this swarm, but the swarm lock is held all the same: one swarm file
 * at a time keeps the CPU for the others' timings (this file runs three engines).
 */
import { strict as assert } from 'node:assert';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthProcess, eventually, runCli } from '../../support/berth-process.js';
import { buildTestImage, httpGet } from '../../support/docker.js';
import { freePort, PrivateNginx } from '../../support/nginx.js';
import { pushTo, SHARED_REGISTRY } from '../../support/registry.js';
import { Scenario } from '../../support/scenario.js';
import { holdSwarm } from '../../support/swarm.js';
import { SwarmNode } from '../../support/swarm-node.js';

/** The lease duration the replicas run with (seconds): short, to keep the file quick. */
const LEASE_SECONDS = 6;
const HOST = 'web.ha.test';

interface Replica {
  label: string;
  node: SwarmNode;
  stateDir: string;
  port: number;
  nginx: PrivateNginx;
  process: BerthProcess;
}

describe('berth replicas on a three-manager swarm, one leading through a lease (a real swarm)', function () {
  this.timeout(240_000);
  let letGo: (() => Promise<void>) | undefined;
  let world: Scenario;
  const nodes: SwarmNode[] = [];
  const replicas: Replica[] = [];
  const digests: Record<string, string> = {};

  before(async function () {
    this.timeout(900_000);
    letGo = await holdSwarm();
    world = await Scenario.create();
    const base = 1 + Math.floor(Math.random() * 80) * 3;
    for (let i = 0; i < 3; i++) nodes.push(await SwarmNode.start({ range: '10.213', subnet: base + i }));
    const [first, ...others] = nodes as [SwarmNode, ...SwarmNode[]];
    await first.cli(['swarm', 'init', '--advertise-addr', first.address, '--listen-addr', `${first.address}:2377`]);
    const token = (await first.cli(['swarm', 'join-token', '-q', 'manager'])).trim();
    for (const node of others) await node.join(token, first.address);
    await eventually(
      async () =>
        (await first.cli(['node', 'ls', '--format', '{{.ManagerStatus}} {{.Status}}']))
          .trim()
          .split('\n')
          .filter((line) => /^(Leader|Reachable) Ready$/.test(line)).length === 3,
      60_000,
      'three managers Ready',
    );
    for (const [tag, command] of [
      ['v1', undefined],
      ['v2', undefined],
      ['v3', undefined],
      ['v4', undefined],
      ['v5', undefined],
      ['bad', 'sleep 1; exit 1'],
      ['crash', 'sleep 1; exit 1'],
    ] as const) {
      const id = await buildTestImage(`${world.namespace}/web`, tag, { body: tag, ...(command ? { command } : {}) });
      digests[tag] = await pushTo(SHARED_REGISTRY, id, `${world.namespace}/web`, tag);
    }
  });

  after(async function () {
    this.timeout(180_000);
    for (const replica of replicas) {
      try {
        process.kill(replica.process.pid, 'SIGCONT');
      } catch {
        // gone already
      }
      await replica.process.stop('SIGKILL').catch(() => undefined);
      await replica.nginx.stop().catch(() => undefined);
    }
    // Every node leaves the swarm and stops; its namespace, link, forwarders, mounts and files go.
    for (const node of nodes.reverse()) await node.stop().catch(() => undefined);
    await world?.cleanup();
    await letGo?.();
  });

  const manifest = (tag: string) => ({
    image: `${SHARED_REGISTRY}/${world.namespace}/web`,
    tag,
    replicas: 2,
    domains: [HOST],
    checks: { wait: 0, http: [{ path: '/health', content: 'ok', attempts: 3, wait: 1, timeout: 2 }] },
    deploy: { progressDeadline: 60 },
  });

  async function startReplica(label: string, node: SwarmNode, reuse?: Replica): Promise<Replica> {
    const stateDir = reuse?.stateDir ?? join(world.root, `state-${label}`);
    const port = reuse?.port ?? (await freePort());
    const nginx = reuse?.nginx ?? (await PrivateNginx.start());
    const berth = new BerthProcess(
      [
        'run',
        '--manifests',
        world.manifests,
        '--namespace',
        world.namespace,
        '--state-dir',
        stateDir,
        '--resync',
        '5',
        '--log-level',
        'debug',
        '--runtime',
        'swarm',
        '--lease-duration',
        String(LEASE_SECONDS),
        '--listen',
        `127.0.0.1:${port}`,
        ...nginx.berthFlags(),
      ],
      { DOCKER_HOST: node.host },
    );
    const replica = { label, node, stateDir, port, nginx, process: berth };
    if (reuse) {
      retired.push(reuse.process);
      replicas[replicas.indexOf(reuse)] = replica;
    } else replicas.push(replica);
    return replica;
  }

  const timeline = async (replica: Replica) =>
    (JSON.parse((await httpGet(replica.port, '/api/events', 2_000)).body) as { type: string }[]).map((e) => e.type);
  const readyz = async (replica: Replica) => httpGet(replica.port, '/readyz', 2_000).catch(() => undefined);
  const isLeader = async (replica: Replica) => (await readyz(replica))?.status === 200;
  const isStandby = async (replica: Replica) => {
    const answer = await readyz(replica);
    return answer?.status === 503 && /standby/.test(answer.body);
  };
  /** The one replica whose /readyz says 200 while every other says 503 standby. */
  async function theLeader(among: Replica[] = replicas, timeoutMs = 60_000): Promise<Replica> {
    return eventually(
      async () => {
        const leaders = [];
        for (const replica of among) {
          if (await isLeader(replica)) leaders.push(replica);
          else if (!(await isStandby(replica))) return undefined;
        }
        return leaders.length === 1 ? leaders[0] : undefined;
      },
      timeoutMs,
      'exactly one leader, the others standby',
      250,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${among.map((r) => `${r.label}:\n${r.process.tail(12)}`).join('\n')}`);
    });
  }
  /** Processes replaced by a restart, whose logs still count. */
  const retired: BerthProcess[] = [];
  /** Service updates and creates berth sent for `tag`, summed over every replica's log (every process it ran). */
  const sends = (tag: string) =>
    [...replicas.map((r) => r.process), ...retired].flatMap((berth) =>
      berth.logs.filter(
        (l) =>
          l.app === 'web' &&
          (l.step === 'update' || l.step === 'create') &&
          String(l.revision ?? '').endsWith(digests[tag] ?? '-'),
      ),
    ).length;
  const serviceImage = async (node: SwarmNode) =>
    (
      await node.cli([
        'service',
        'inspect',
        '--format',
        '{{.Spec.TaskTemplate.ContainerSpec.Image}}',
        `${world.namespace}_web`,
      ])
    ).trim();
  const pinned = (tag: string) => `${SHARED_REGISTRY}/${world.namespace}/web:${tag}@${digests[tag]}`;
  const upNode = () => nodes.find((n) => replicas.some((r) => r.node === n))!;
  async function deployed(tag: string, via: SwarmNode = upNode(), timeoutMs = 90_000): Promise<void> {
    await eventually(async () => (await serviceImage(via)) === pinned(tag), timeoutMs, `the service at ${tag}`).catch(
      (error: Error) => {
        throw new Error(`${error.message}\n${replicas.map((r) => `${r.label}:\n${r.process.tail(12)}`).join('\n')}`);
      },
    );
  }
  /** Each replica's nginx serves `tag` and routes to two tasks on two nodes. */
  async function everyNginxServes(tag: string, among: Replica[] = replicas): Promise<void> {
    for (const replica of among) {
      await eventually(
        async () => {
          const answer = await replica.nginx.get(HOST).catch(() => undefined);
          if (answer?.body !== tag) return false;
          const endpoints = await upstreamAddresses(replica.nginx);
          return endpoints.length === 2 && new Set(endpoints.map((e) => e.split(':')[0])).size === 2;
        },
        60_000,
        `${replica.label}'s nginx serving ${tag} from tasks on two nodes`,
        500,
      ).catch(async (error: Error) => {
        throw new Error(
          `${error.message}: ${(await upstreamAddresses(replica.nginx)).join(' ')}\n${replica.process.tail(12)}`,
        );
      });
    }
  }

  it('two replicas: exactly one leads (readyz 200 vs 503 standby), each nginx routes to the tasks of both nodes, and a tag edit is sent to the service once', async () => {
    await world.writeManifest('web', manifest('v1'));
    await startReplica('a', nodes[0]!);
    await startReplica('b', nodes[1]!);
    const leader = await theLeader();
    const standby = replicas.find((r) => r !== leader)!;
    const lease = JSON.parse((await httpGet(standby.port, '/api/lease', 2_000)).body) as {
      role: string;
      holder: string;
    };
    assert.equal(lease.role, 'standby');
    assert.match(lease.holder, /\/[0-9a-f]{8}$/, 'the standby names the holder');
    const page = await httpGet(standby.port, '/', 2_000);
    assert.match(page.body, /standby: the lease is held by/);
    const table = await runCli(
      ['status', '--runtime', 'swarm', '--namespace', world.namespace, '--state-dir', standby.stateDir],
      { DOCKER_HOST: standby.node.host },
    );
    assert.match(table.stdout, /^lease: held by \S+\/[0-9a-f]{8} \(duration 6 s/m, table.stdout + table.stderr);
    const metrics = await httpGet(leader.port, '/metrics', 2_000);
    assert.match(metrics.body, /^berth_leader 1$/m);
    await deployed('v1');
    await everyNginxServes('v1');

    await world.writeManifest('web', manifest('v2'));
    await deployed('v2');
    await everyNginxServes('v2');
    // A few resyncs (5 s) of both: nothing more is sent.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    assert.equal(sends('v1'), 1, 'v1 created once');
    assert.equal(sends('v2'), 1, 'v2 sent once, whichever replica saw the edit first');
    assert.equal(
      standby.process.logs.filter((l) => l.step === 'update' || l.step === 'create').length,
      0,
      'the standby sent nothing',
    );
  });

  it('the leader SIGKILLed: the standby leads within the lease duration and deploys the next edit', async () => {
    const leader = await theLeader();
    const standby = replicas.find((r) => r !== leader)!;
    const killedAt = Date.now();
    await leader.process.stop('SIGKILL');
    await eventually(async () => isLeader(standby), (LEASE_SECONDS + 10) * 1000, 'the standby to lead', 200);
    const tookMs = Date.now() - killedAt;
    console.log(`      takeover after SIGKILL: ${(tookMs / 1000).toFixed(1)} s (lease ${LEASE_SECONDS} s)`);
    // The standby watches the lease unchanged for a duration after its last renew; a look comes every duration/5.
    assert.ok(tookMs < (LEASE_SECONDS + 4) * 1000, `took ${tookMs} ms`);
    assert.ok((await timeline(standby)).includes('lease.acquired'), 'the takeover is an event of the new leader');
    await world.writeManifest('web', manifest('v3'));
    await deployed('v3');
    assert.equal(sends('v3'), 1);
    // The killed replica started again on its state dir: the other holds and renews the lease, so it is standby.
    await startReplica(leader.label, leader.node, leader);
    assert.equal(
      await theLeader(),
      replicas.find((r) => r.label === standby.label),
    );
    await everyNginxServes('v3');
  });

  it('the leader SIGSTOPped past its lease, then SIGCONT: it does not act, becomes standby, and the service shows one update per change', async () => {
    const leader = await theLeader();
    const standby = replicas.find((r) => r !== leader)!;
    process.kill(leader.process.pid, 'SIGSTOP');
    try {
      await eventually(async () => isLeader(standby), (LEASE_SECONDS + 10) * 1000, 'the standby to lead', 200);
      // An edit while the old leader is frozen: the new leader deploys it.
      await world.writeManifest('web', manifest('v4'));
      await deployed('v4');
    } finally {
      process.kill(leader.process.pid, 'SIGCONT');
    }
    const woke = leader.process.logs.length;
    // On waking, its renew deadline has passed: it reads the lease, sees another's, and is standby.
    await eventually(async () => isStandby(leader), 20_000, 'the woken replica standby', 200);
    await leader.process.waitForLog((l) => l.source === 'lease' && l.role === 'standby', 20_000, woke);
    assert.ok((await timeline(leader)).includes('lease.lost'), 'the woken replica says it lost the lease');
    await world.writeManifest('web', manifest('v5'));
    await deployed('v5');
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    assert.equal(
      leader.process.logs.slice(woke).filter((l) => l.step === 'update' || l.step === 'create').length,
      0,
      'the woken replica sent nothing',
    );
    assert.deepEqual([sends('v4'), sends('v5')], [1, 1], 'one update per change');
    await everyNginxServes('v5');
  });

  it('the leader SIGKILLed mid-rollout: the new leader follows what Swarm does with it, records it failed and held, and never sends it again', async () => {
    const leader = await theLeader();
    const standby = replicas.find((r) => r !== leader)!;
    const from = leader.process.logs.length;
    await world.writeManifest('web', manifest('crash'));
    await leader.process.waitForLog(
      (l) => l.app === 'web' && l.step === 'update' && String(l.revision ?? '').endsWith(digests.crash!),
      60_000,
      from,
    );
    // The update is sent; its tasks crash a second after they start, and Swarm rolls it back.
    await leader.process.stop('SIGKILL');
    await eventually(async () => isLeader(standby), (LEASE_SECONDS + 10) * 1000, 'the standby to lead', 200);
    const app = await eventually(
      async () => {
        const answer = JSON.parse((await httpGet(standby.port, '/api/apps/web', 2_000)).body) as {
          phase: string;
          message: string;
        };
        return /web:crash is held after it failed/.test(answer.message) ? answer : undefined;
      },
      150_000,
      'the new leader to record the rollout it took over as failed, and hold it',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${standby.process.tail(25)}`);
    });
    assert.match(app.phase, /Degraded|Failed/);
    await deployed('v5');
    assert.equal(sends('crash'), 1, 'the revision the old leader sent is not sent again by the new one');
    // The new leader keeps the hold in the swarm (a write only the leader may make).
    const heldLabel = async () =>
      (
        await upNode().cli([
          'service',
          'inspect',
          '--format',
          '{{index .Spec.Labels "berth.held-revision"}}',
          `${world.namespace}_web`,
        ])
      ).trim();
    assert.match(
      await eventually(
        async () => (await heldLabel()).endsWith(digests.crash!) && heldLabel(),
        30_000,
        'the hold label',
      ),
      /^[0-9a-f]+@sha256:/,
    );
    await startReplica(leader.label, leader.node, leader);
    assert.equal(
      await theLeader(),
      replicas.find((r) => r.label === standby.label),
    );
  });

  it("a manager's engine stopped (the leader's): berth on another manager leads, and a failed rollout is rolled back and recorded by it", async () => {
    const leader = await theLeader();
    const standby = replicas.find((r) => r !== leader)!;
    const stoppedAt = Date.now();
    await leader.node.pause();
    await eventually(async () => isLeader(standby), 90_000, 'the replica on another manager to lead', 500).catch(
      (error: Error) => {
        throw new Error(`${error.message}\n${standby.process.tail(20)}`);
      },
    );
    console.log(`      takeover after the leader's engine stopped: ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`);
    assert.equal(await isLeader(leader), false, 'the replica without an engine does not lead');
    await world.writeManifest('web', manifest('bad'));
    const status = await eventually(
      async () => {
        const result = await httpGet(standby.port, '/api/apps/web', 2_000);
        const app = JSON.parse(result.body) as { phase: string; message: string };
        return /web:bad is held after it failed/.test(app.message) ? app : undefined;
      },
      150_000,
      'the failed rollout recorded (held) by the new leader',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${standby.process.tail(20)}`);
    });
    await deployed('v5', standby.node, 90_000);
    assert.match(status.phase, /Degraded|Failed/);
    assert.equal(sends('bad'), 1, 'the failed revision was sent once');
    assert.equal(
      leader.process.logs.filter((l) => l.step === 'update' && String(l.revision ?? '').endsWith(digests.bad!)).length,
      0,
    );
  });
});

/** The `host:port` of each upstream server in the nginx's berth blocks. */
async function upstreamAddresses(nginx: PrivateNginx): Promise<string[]> {
  const files = (await readdir(nginx.confDir).catch(() => [] as string[])).filter((f) => f.endsWith('.conf'));
  const found: string[] = [];
  for (const file of files) {
    const text = await readFile(join(nginx.confDir, file), 'utf8').catch(() => '');
    for (const match of text.matchAll(/^\s*server\s+(\d+\.\d+\.\d+\.\d+:\d+)/gm)) found.push(match[1]!);
  }
  return found;
}
