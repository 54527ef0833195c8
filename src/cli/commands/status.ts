import { EngineUnavailableError } from '../../runtime/errors.js';
import type { ContainerSummary } from '../../runtime/types.js';
import { createDockerRuntime } from '../../runtime/docker/docker-runtime.js';
import { StateStore } from '../../state/store.js';
import type { AppRecord } from '../../state/types.js';
import { age, formatTable } from '../table.js';
import { parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';

export interface AppStatus {
  app: string;
  desiredImage: string | null;
  desiredTag: string | null;
  running: { tag: string | null; imageId: string | null; containers: { id: string; name: string; state: string }[] };
  phase: string;
  message: string;
  lastError: string | null;
  since: string | null;
  lastDeployAt: string | null;
  history: AppRecord['history'];
}

/** Every managed app: berth's state beside what Docker runs now. */
export async function statusCommand(args: string[], out: Output): Promise<number> {
  const { values } = parseCommand(args, { json: { type: 'boolean', default: false } }, false);
  const shared = sharedOptions(values);
  const state = await StateStore.read(shared.stateDir, shared.namespace);
  let containers: ContainerSummary[] = [];
  try {
    containers = await createDockerRuntime().listContainers(shared.namespace);
  } catch (error) {
    if (!(error instanceof EngineUnavailableError)) throw error;
    out.stderr(`berth: the Docker engine is unreachable (${error.message}); showing berth's last recorded state\n`);
  }
  const engine = state.engine();
  if (engine && !engine.reachable) {
    out.stderr(`berth: the controller has not reached the Docker engine since ${new Date(engine.since).toISOString()} (${engine.error ?? 'unknown error'}); it reconnects with backoff\n`);
  }
  const names = [...new Set([...state.names(), ...containers.map((c) => c.app)])].sort();
  const statuses = names.map((name) => appStatus(name, state.get(name), containers.filter((c) => c.app === name)));

  if (values.json) {
    out.stdout(JSON.stringify(statuses, null, 2) + '\n');
    return 0;
  }
  if (statuses.length === 0) {
    out.stdout(`no apps in namespace "${shared.namespace}"\n`);
    return 0;
  }
  const now = Date.now();
  const rows = statuses.map((s) => [
    s.app,
    s.desiredTag ?? '-',
    s.running.tag ?? (s.running.imageId ? s.running.imageId.replace('sha256:', '').slice(0, 12) : '-'),
    s.phase,
    age(now, toMillis(s.lastDeployAt ?? s.since)),
    s.message,
  ]);
  out.stdout(formatTable(['APP', 'DESIRED', 'RUNNING', 'PHASE', 'AGE', 'MESSAGE'], rows));
  return 0;
}

function appStatus(name: string, record: AppRecord | undefined, containers: ContainerSummary[]): AppStatus {
  const running = containers.filter((c) => c.state === 'running');
  const imageId = running[0]?.imageId ?? null;
  const tag = imageId !== null && imageId === record?.servingImageId ? (record.servingTag ?? null) : null;
  const lastDeploy = record?.history.find((h) => h.outcome === 'succeeded');
  return {
    app: name,
    desiredImage: record?.desiredImage ?? null,
    desiredTag: record?.desiredTag ?? null,
    running: { tag, imageId, containers: containers.map((c) => ({ id: c.id.slice(0, 12), name: c.name, state: c.state })) },
    phase: record?.phase ?? (running.length > 0 ? 'Running' : 'Failed'),
    message: record?.message ?? 'no state recorded (berth has not reconciled this app yet)',
    lastError: record?.lastError ?? null,
    since: record ? new Date(record.since).toISOString() : null,
    lastDeployAt: lastDeploy ? new Date(lastDeploy.at).toISOString() : null,
    history: record?.history ?? [],
  };
}

function toMillis(iso: string | null): number | undefined {
  return iso === null ? undefined : Date.parse(iso);
}
