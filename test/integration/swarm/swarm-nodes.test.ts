/**
 * Every node's tasks in what berth reports, on a real two-node swarm (the shared engine as
 * manager, a second engine in a network namespace as worker): `status --runtime swarm`,
 * `history --runtime swarm` and `/api/apps` of a berth running with `--listen` list the tasks of
 * both nodes, each with its node's id, hostname and address. Both engines run on this machine and
 * share its hostname: the nodes are told apart by id (and address).
 */
import { strict as assert } from 'node:assert';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage, dockerCli, httpGet } from '../../support/docker.js';
import { freePort } from '../../support/nginx.js';
import { pushTo, SHARED_REGISTRY } from '../../support/registry.js';
import { Scenario } from '../../support/scenario.js';
import { ensureSwarm, removeServices, type Swarm } from '../../support/swarm.js';
import { SwarmNode } from '../../support/swarm-node.js';

interface Replica {
  id: string;
  name: string;
  node: { id: string; name: string; address: string } | null;
  state: string;
  desiredState: string | null;
  revision: string;
  tag: string | null;
}

interface App {
  app: string;
  runtime: string;
  running: { tag: string | null; containers: { id: string; state: string }[] };
  replicas: Replica[];
}

describe('status, history and /api/apps on two nodes: each task with its node (a real two-node swarm)', function () {
  this.timeout(150_000);
  let world: Scenario;
  let swarm: Swarm;
  let node: SwarmNode;
  let berth: BerthProcess | undefined;
  let port: number;
  /** The manager's and the worker's node ids, hostnames and addresses. */
  let manager: { id: string; name: string; address: string };
  let worker: { id: string; name: string; address: string };

  before(async function () {
    // Another file may hold the swarm for minutes (ensureSwarm waits its turn): the wait is not this hook's time.
    this.timeout(900_000);
    // The second node is started first: the manager must advertise an address it can reach.
    node = await SwarmNode.start();
    swarm = await ensureSwarm(node.hostAddress);
    world = await Scenario.create();
    const id = await buildTestImage(`${world.namespace}/web`, 'v1', { body: 'v1', extraFiles: { health: 'ok' } });
    await pushTo(SHARED_REGISTRY, id, `${world.namespace}/web`, 'v1');
    await node.join((await dockerCli(['swarm', 'join-token', '-q', 'worker'])).trim(), node.hostAddress);
    const workerId = (await node.cli(['info', '--format', '{{.Swarm.NodeID}}'])).trim();
    const managerId = (await dockerCli(['info', '--format', '{{.Swarm.NodeID}}'])).trim();
    await eventually(
      async () => (await dockerCli(['node', 'inspect', '--format', '{{.Status.State}}', workerId])).trim() === 'ready',
      30_000,
      'the worker Ready',
    );
    const hostname = async (id: string) =>
      (await dockerCli(['node', 'inspect', '--format', '{{.Description.Hostname}}', id])).trim();
    manager = { id: managerId, name: await hostname(managerId), address: node.hostAddress };
    worker = { id: workerId, name: await hostname(workerId), address: node.address };
  });
  after(async () => {
    await world?.killProcesses();
    if (world) await removeServices(world.namespace);
    const workerId = worker?.id;
    await node?.stop();
    // The manager forgets the worker it would otherwise list as Down (when the swarm outlives this file).
    if (workerId) await dockerCli(['node', 'rm', '--force', workerId]).catch(() => undefined);
    await world?.cleanup();
    await swarm?.release();
  });

  const statusJson = async () => {
    const result = await world.cli(['status', '--runtime', 'swarm', '--json']);
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as App[]).find((a) => a.app === 'web');
  };
  /** The running tasks' node ids, when one runs on each node. */
  const onBothNodes = (app: App | undefined) => {
    const running = app?.replicas.filter((r) => r.state === 'running' && r.desiredState === 'running') ?? [];
    const nodes = new Set(running.map((r) => r.node?.id));
    return running.length === 2 && nodes.size === 2 ? running : undefined;
  };

  it('status --runtime swarm (--json and the table) and history list the tasks of both nodes with their node ids, names and addresses', async () => {
    await world.writeManifest('web', {
      image: `${SHARED_REGISTRY}/${world.namespace}/web`,
      tag: 'v1',
      replicas: 2,
      checks: { http: [{ path: '/health', content: 'ok', attempts: 3, wait: 1, timeout: 2 }] },
    });
    port = await freePort();
    berth = world.start(['--runtime', 'swarm', '--listen', `127.0.0.1:${port}`]);
    const running = await eventually(
      async () => onBothNodes(await statusJson()),
      90_000,
      'a running task on each node',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${berth?.tail(15)}`);
    });
    assert.deepEqual(
      running.map((r) => r.node).sort((a, b) => (a!.id < b!.id ? -1 : 1)),
      [manager, worker].sort((a, b) => (a.id < b.id ? -1 : 1)),
      "each task names its node's id, hostname and address",
    );
    const web = await statusJson();
    assert.equal(web?.runtime, 'swarm');
    assert.deepEqual(running.map((r) => r.name).sort(), ['web.1', 'web.2']);
    await eventually(async () => (await statusJson())?.running.tag === 'v1', 30_000, 'v1 recorded as serving');
    assert.ok(
      (await statusJson())?.replicas.every((r) => r.tag === 'v1'),
      'each task names the tag its revision was deployed as',
    );

    const table = await world.cli(['status', '--runtime', 'swarm']);
    assert.equal(table.code, 0, table.stderr);
    for (const { name, address } of [manager, worker])
      assert.match(
        table.stdout,
        new RegExp(`^web\\.\\d\\s+${escapeRegExp(name)}\\s+${escapeRegExp(address)}\\s+running\\s+v1$`, 'm'),
        table.stdout,
      );

    const history = JSON.parse((await world.cli(['history', 'web', '--runtime', 'swarm', '--json'])).stdout) as {
      tag: string;
      tasks?: Replica[];
    }[];
    assert.equal(history[0]?.tag, 'v1');
    assert.deepEqual(
      [...new Set(history[0]?.tasks?.map((t) => t.node?.id))].sort(),
      [manager.id, worker.id].sort(),
      'the deploy ran on both nodes',
    );
  });

  it('/api/apps and the status page of a berth with --listen list the tasks of both nodes', async () => {
    assert.ok(berth, 'berth runs with --listen');
    const api = async () => {
      const response = await httpGet(port, '/api/apps', 5_000);
      assert.equal(response.status, 200, response.body);
      return (JSON.parse(response.body) as App[]).find((a) => a.app === 'web');
    };
    const running = await eventually(async () => onBothNodes(await api()), 30_000, '/api/apps: a task on each node');
    assert.deepEqual(running.map((r) => r.node?.id).sort(), [manager.id, worker.id].sort());
    assert.deepEqual(running.map((r) => r.node?.address).sort(), [manager.address, worker.address].sort());
    const page = await httpGet(port, '/', 5_000);
    assert.match(page.body, /2\/2 running on /);
    assert.equal(await berth.stop(), 0);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
