import { stripControl } from '../../util/strip-control.js';
import { EngineUnavailableError } from '../../runtime/errors.js';
import type { ContainerSummary } from '../../runtime/types.js';
import { createDockerRuntime } from '../../runtime/docker/docker-runtime.js';
import { StateStore } from '../../state/store.js';
import { appStatuses, engineOutage } from '../../status/app-status.js';
import type { SwarmTasks } from '../../status/replicas.js';
import { sourceLine } from '../../status/source-line.js';
import { parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';
import { RUNTIME_FLAG, runtimeKind } from '../runtime-flag.js';
import { statusTables } from '../status-table.js';

/**
 * Every managed app: berth's state beside what runs now. On one host, the containers of the
 * engine berth talks to; with `--runtime swarm`, the manager's task list: every task on every
 * node, with the node's name and address.
 */
export async function statusCommand(args: string[], out: Output): Promise<number> {
  const { values } = parseCommand(args, { json: { type: 'boolean', default: false }, ...RUNTIME_FLAG }, false);
  const shared = sharedOptions(values);
  const runtime = runtimeKind(values.runtime);
  const state = await StateStore.read(shared.stateDir, shared.namespace);
  const unreachable = (error: unknown) => {
    if (!(error instanceof EngineUnavailableError)) throw error;
    out.stderr(`berth: the Docker engine is unreachable (${error.message}); showing berth's last recorded state\n`);
    return undefined;
  };
  const outage = engineOutage(state.engine());
  if (runtime === 'swarm') {
    const tasks = await swarmTasks(shared.namespace).catch(unreachable);
    if (outage !== undefined) out.stderr(`berth: ${outage}\n`);
    const lease = values.json || tasks === undefined ? undefined : await leaseLine(shared.namespace);
    if (lease !== undefined) out.stdout(`${lease}\n`);
    return print(appStatuses({ state, runtime, tasks }), {
      state,
      namespace: shared.namespace,
      json: values.json,
      out,
    });
  }
  const containers: ContainerSummary[] | undefined = await createDockerRuntime()
    .listContainers(shared.namespace)
    .catch(unreachable);
  if (outage !== undefined) out.stderr(`berth: ${outage}\n`);
  return print(appStatuses({ state, containers }), { state, namespace: shared.namespace, json: values.json, out });
}

/** The manager's tasks of the namespace and the swarm's nodes; rejects with EngineError when the engine is no manager. */
async function swarmTasks(namespace: string): Promise<SwarmTasks> {
  const { createSwarmRuntime } = await import('../../runtime/docker/swarm-runtime.js');
  const services = createSwarmRuntime();
  await services.swarm();
  const [tasks, nodes] = await Promise.all([services.listTasks(namespace), services.listNodes()]);
  return { tasks, nodes };
}

/** Who leads the namespace's berth replicas (leader election), as the lease in the swarm says; undefined without one. */
async function leaseLine(namespace: string): Promise<string | undefined> {
  const { createSwarmLease } = await import('../../runtime/docker/swarm-lease.js');
  const lease = await createSwarmLease(namespace)
    .read()
    .catch(() => undefined);
  if (!lease) return undefined;
  const holder = lease.holder === '' ? 'nobody (released)' : lease.holderName || stripControl(lease.holder.slice(0, 8));
  return `lease: held by ${holder} (duration ${lease.durationSeconds} s, ${lease.transitions} transition(s))`;
}

function print(
  statuses: ReturnType<typeof appStatuses>,
  at: { state: StateStore; namespace: string; json: boolean; out: Output },
): number {
  const { out } = at;
  if (at.json) {
    out.stdout(`${JSON.stringify(statuses, null, 2)}\n`);
    return 0;
  }
  const source = at.state.source();
  if (source) out.stdout(`source: ${sourceLine(source, Date.now())}\n`);
  if (statuses.length === 0) {
    out.stdout(`no apps in namespace "${at.namespace}"\n`);
    return 0;
  }
  out.stdout(statusTables(statuses, Date.now()));
  return 0;
}
