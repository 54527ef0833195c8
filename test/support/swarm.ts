/**
 * A swarm for the swarm tests, on the shared engine: `docker swarm init` when the engine is in
 * none (left again afterwards), and the cleanup of one namespace's services. Routing mesh aside
 * (no IPVS on this kernel), a single-node swarm runs next to the plain containers of other tests.
 *
 * The suite runs files in parallel, and a swarm is one per engine: each user holds the swarm
 * alone, from ensureSwarm to release (a lock directory beside the system's temp files, taken
 * with mkdir, which is atomic; one whose holder is dead is taken over).
 */
import { rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dockerCli } from './docker.js';
import { eventually } from './berth-process.js';

const SWARM_LOCK = join(tmpdir(), 'berth-test-swarm.lock.d');

/**
 * Waits until this process holds the swarm lock alone; resolves to the function that lets it go.
 * A file whose swarm is made of other engines (the main one left out) takes it too: swarm files
 * are the heaviest, and one at a time keeps the CPU for the others' timings.
 */
export async function holdSwarm(): Promise<() => Promise<void>> {
  for (;;) {
    try {
      await mkdir(SWARM_LOCK);
      await writeFile(join(SWARM_LOCK, 'pid'), String(process.pid));
      // A file that dies holding the swarm must not keep the others waiting.
      const onExit = () => rmSync(SWARM_LOCK, { recursive: true, force: true });
      process.once('exit', onExit);
      return async () => {
        process.off('exit', onExit);
        await rm(SWARM_LOCK, { recursive: true, force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await readFile(join(SWARM_LOCK, 'pid'), 'utf8').catch(() => ''));
      if (holder > 0 && !alive(holder)) await rm(SWARM_LOCK, { recursive: true, force: true });
      else await sleep(500);
    }
  }
}

export interface Swarm {
  /** Leaves the swarm when this helper created it; otherwise leaves it as it was. */
  release(): Promise<void>;
}

/** `advertise`: the address other nodes reach the manager at (and it listens on for them). */
export async function ensureSwarm(advertise = '127.0.0.1'): Promise<Swarm> {
  const letGo = await holdSwarm();
  const state = (await dockerCli(['info', '--format', '{{.Swarm.LocalNodeState}}'])).trim();
  if (state === 'active') return { release: letGo };
  await dockerCli(['swarm', 'init', '--advertise-addr', advertise, '--listen-addr', `${advertise}:2377`]);
  return {
    release: async () => {
      try {
        await dockerCli(['swarm', 'leave', '--force']);
      } finally {
        await letGo();
      }
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the namespace's services, Docker secrets and lease config, and waits for their task containers to go. */
export async function removeServices(namespace: string): Promise<void> {
  const ids = (await dockerCli(['service', 'ls', '-q', '--filter', `label=berth.namespace=${namespace}`]))
    .split('\n')
    .filter(Boolean);
  if (ids.length > 0) await dockerCli(['service', 'rm', ...ids]).catch(() => undefined);
  const secrets = (await dockerCli(['secret', 'ls', '-q', '--filter', `label=berth.namespace=${namespace}`]))
    .split('\n')
    .filter(Boolean);
  if (secrets.length > 0) await dockerCli(['secret', 'rm', ...secrets]).catch(() => undefined);
  // berth's lease (leader election), a Swarm config labelled with the namespace.
  const configs = (await dockerCli(['config', 'ls', '-q', '--filter', `label=berth.namespace=${namespace}`]))
    .split('\n')
    .filter(Boolean);
  if (configs.length > 0) await dockerCli(['config', 'rm', ...configs]).catch(() => undefined);
  await eventually(
    async () => (await dockerCli(['ps', '-aq', '--filter', `label=berth.namespace=${namespace}`])).trim() === '',
    60_000,
    `the tasks of ${namespace} to go`,
    500,
  ).catch(() => undefined);
}

export interface ServiceView {
  id: string;
  version: number;
  image: string;
  labels: Record<string, string>;
  replicas: number;
  updateState: string | undefined;
}

/** The service as the docker CLI reports it; undefined when there is none. */
export async function inspectService(name: string): Promise<ServiceView | undefined> {
  const text = await dockerCli(['service', 'inspect', name]).catch(() => undefined);
  if (text === undefined) return undefined;
  const [raw] = JSON.parse(text) as {
    ID: string;
    Version: { Index: number };
    Spec: {
      Labels: Record<string, string>;
      TaskTemplate: { ContainerSpec: { Image: string } };
      Mode: { Replicated?: { Replicas: number } };
    };
    UpdateStatus?: { State: string };
  }[];
  if (!raw) return undefined;
  return {
    id: raw.ID,
    version: raw.Version.Index,
    image: raw.Spec.TaskTemplate.ContainerSpec.Image,
    labels: raw.Spec.Labels,
    replicas: raw.Spec.Mode.Replicated?.Replicas ?? 0,
    updateState: raw.UpdateStatus?.State,
  };
}

/** `state image` of each task the service means to run (desired state running). */
export async function runningTasks(name: string): Promise<{ id: string; state: string; image: string }[]> {
  const text = await dockerCli([
    'service',
    'ps',
    name,
    '--filter',
    'desired-state=running',
    '--format',
    '{{.ID}} {{.CurrentState}} {{.Image}}',
    '--no-trunc',
  ]).catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id = '', state = '', ...rest] = line.split(' ');
      return { id, state: state.toLowerCase(), image: rest.at(-1) ?? '' };
    });
}
