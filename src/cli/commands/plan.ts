import { resolve } from 'node:path';
import { DesiredState } from '../../controller/desired-state.js';
import { ManifestDirectory } from '../../manifest/load.js';
import { formatProblem } from '../../manifest/types.js';
import type { Action, Observation, Plan } from '../../reconcile/actions.js';
import { diffApp, formatDiff, type AppShape } from '../../reconcile/diff.js';
import { observeApp } from '../../reconcile/observe.js';
import { planApp } from '../../reconcile/plan.js';
import { parseRevisionKey, revisionKey } from '../../reconcile/revision.js';
import { createDockerRuntime } from '../../runtime/docker/docker-runtime.js';
import { ContainerNotFoundError } from '../../runtime/errors.js';
import type { ContainerDetail, ContainerSummary, Runtime } from '../../runtime/types.js';
import { StateStore } from '../../state/store.js';
import type { AppRecord } from '../../state/types.js';
import { systemClock } from '../../util/clock.js';
import { parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';

const PLAN_FLAGS = {
  manifests: { type: 'string', default: 'manifests' },
  'exit-code': { type: 'boolean', default: false },
  'allow-empty': { type: 'boolean', default: false },
} as const;

/**
 * What one pass would do now, per app, with reasons. Changes nothing. Under the headline of an app
 * with something to do, a diff of what runs against what the manifest wants (env keys only).
 */
export async function planCommand(args: string[], out: Output): Promise<number> {
  const { values } = parseCommand(args, PLAN_FLAGS, false);
  const shared = sharedOptions(values);
  const { namespace } = shared;
  const manifests = new ManifestDirectory(resolve(values.manifests), { namespace, allowHostPaths: shared.allowHostPaths });
  const desired = new DesiredState(values['allow-empty']);
  desired.update(await manifests.read());
  const runtime = createDockerRuntime();
  const state = await StateStore.read(shared.stateDir, namespace);
  const running = await runtime.listContainers(namespace);
  const names = [...new Set([...desired.names(), ...running.map((c) => c.app)])].sort();

  let pending = 0;
  for (const name of names) {
    const observation = await observeApp({ runtime, clock: systemClock, state, desired: (n) => desired.get(n) }, { namespace, proxy: false }, name);
    const plan = planApp(observation);
    if (plan.actions.length > 0) pending++;
    const changes = plan.actions.length > 0 && !plan.refused ? diffApp(await runningShape(runtime, observation.containers, state.get(name)), desiredShape(observation)) : [];
    out.stdout(describePlan(name, plan, formatDiff(changes)));
  }
  for (const problem of desired.problems()) out.stdout(`! ${formatProblem(problem)}\n`);
  if (names.length === 0) out.stdout('no apps\n');
  return values['exit-code'] && pending > 0 ? 2 : 0;
}

/** The headline, then `diff` (lines already indented), then one line per action. */
export function describePlan(name: string, plan: Plan, diff: readonly string[] = []): string {
  const headline = plan.refused
    ? `refused: ${plan.refused}`
    : plan.gone
      ? plan.actions.length > 0 ? 'remove (manifest gone)' : 'gone'
      : plan.rollout
        ? `deploy ${plan.rollout.image}:${plan.rollout.tag} (${plan.rollout.strategy})`
        : plan.actions.length > 0
          ? 'repair'
          : `up to date: ${plan.outcome.phase}, ${plan.outcome.message}`;
  const lines = [`${name}: ${headline}`, ...diff, ...plan.actions.map((a) => `  ${SYMBOL[a.type]} ${describeAction(a)}  (${a.reason})`)];
  if (plan.requeueAfterMs !== undefined && plan.actions.every((a) => a.type !== 'retire')) lines.push(`  … old containers retire in ${Math.ceil(plan.requeueAfterMs / 1000)}s`);
  return lines.join('\n') + '\n';
}

/**
 * What the app runs now: the running containers of the serving revision (berth's state), else of
 * the newest running container's revision; undefined when nothing runs. Inspects one container
 * of that revision for its env and port bindings, and its image for the env the image sets.
 */
async function runningShape(runtime: Runtime, containers: readonly ContainerSummary[], record: AppRecord | undefined): Promise<AppShape | undefined> {
  const running = containers.filter((c) => c.state === 'running').sort((a, b) => b.createdAt - a.createdAt);
  const serving = running.filter((c) => revisionKey(c) === record?.servingRevision);
  const newest = running[0];
  const ofRevision = serving.length > 0 ? serving : running.filter((c) => newest !== undefined && revisionKey(c) === revisionKey(newest));
  const detail = await inspectAny(runtime, ofRevision);
  if (!detail) return undefined;
  const image = await runtime.inspectImage(detail.imageId);
  return {
    image: { ref: deployedRef(record, revisionKey(detail), serving.length > 0, image?.repoTags ?? []), id: detail.imageId },
    env: detail.env,
    ...(image?.env ? { imageEnv: image.env } : {}),
    ports: detail.requestedPorts,
    replicas: ofRevision.length,
  };
}

/** The first of `containers` still there to inspect (a running controller may remove one meanwhile). */
async function inspectAny(runtime: Runtime, containers: readonly ContainerSummary[]): Promise<ContainerDetail | undefined> {
  for (const container of containers) {
    try {
      return await runtime.inspectContainer(container.id);
    } catch (error) {
      if (!(error instanceof ContainerNotFoundError)) throw error;
    }
  }
  return undefined;
}

/**
 * `repository:tag` a revision was deployed as: from berth's history of it, else (for the serving
 * revision) the serving tag among the image's tags; undefined when berth's state does not say.
 */
function deployedRef(record: AppRecord | undefined, revision: string, serving: boolean, repoTags: readonly string[]): string | undefined {
  const deploy = record?.history.find((h) => h.revision === revision);
  if (deploy) return `${deploy.image}:${deploy.tag}`;
  const tag = serving ? record?.servingTag : undefined;
  return tag === undefined ? undefined : repoTags.find((ref) => ref.endsWith(`:${tag}`));
}

/** What the manifest wants; undefined when the app has no manifest. */
function desiredShape(observation: Observation): AppShape | undefined {
  if (observation.desired.kind !== 'present') return undefined;
  const { spec } = observation.desired.app;
  const imageId = observation.image?.kind === 'present' ? observation.image.id : undefined;
  return {
    image: { ref: `${spec.image}:${spec.tag}`, ...(imageId ? { id: imageId } : {}) },
    env: spec.env,
    ports: spec.ports,
    replicas: spec.replicas,
  };
}

const SYMBOL: Record<Action['type'], string> = { pull: '↓', tag: '#', stop: '■', remove: '-', create: '+', check: '?', switch: '→', retag: '#', retire: '-' };

function describeAction(action: Action): string {
  switch (action.type) {
    case 'pull':
      return `pull ${action.ref}`;
    case 'tag':
      return `tag ${action.repository}:${action.tag}`;
    case 'stop':
      return `stop ${action.container.name}`;
    case 'remove':
      return `remove ${action.container.name}`;
    case 'create': {
      const env = Object.keys(action.spec.env);
      const ports = action.spec.ports.map((p) => `${p.hostIp}:${p.host ?? '*'}->${p.container}/${p.protocol}`);
      return `create ${action.spec.name}${ports.length ? ` ports ${ports.join(',')}` : ''}${env.length ? ` env ${env.join(',')}` : ''}`;
    }
    case 'check':
      return `check ${action.containers.join(', ')}`;
    case 'switch':
      return `switch traffic to ${parseRevisionKey(action.revision).specHash}`;
    case 'retag':
      return `tag ${action.repository}:latest${action.previous ? ` (and :previous)` : ''}`;
    case 'retire':
      return `retire ${action.containers.map((c) => c.name).join(', ')}`;
  }
}
