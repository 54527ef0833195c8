import { resolve } from 'node:path';
import { DesiredState } from '../../controller/desired-state.js';
import { ManifestDirectory } from '../../manifest/load.js';
import { formatProblem } from '../../manifest/types.js';
import type { Action, Plan } from '../../reconcile/actions.js';
import { observeApp } from '../../reconcile/observe.js';
import { planApp } from '../../reconcile/plan.js';
import { createDockerRuntime } from '../../runtime/docker/docker-runtime.js';
import { StateStore } from '../../state/store.js';
import { systemClock } from '../../util/clock.js';
import { parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';

const PLAN_FLAGS = {
  manifests: { type: 'string', default: 'manifests' },
  'exit-code': { type: 'boolean', default: false },
  'allow-empty': { type: 'boolean', default: false },
} as const;

/** What one pass would do now, per app, with reasons. Changes nothing. */
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
    const plan = planApp(await observeApp({ runtime, clock: systemClock, state, desired: (n) => desired.get(n) }, { namespace, proxy: false }, name));
    if (plan.actions.length > 0) pending++;
    out.stdout(describePlan(name, plan));
  }
  for (const problem of desired.problems()) out.stdout(`! ${formatProblem(problem)}\n`);
  if (names.length === 0) out.stdout('no apps\n');
  return values['exit-code'] && pending > 0 ? 2 : 0;
}

export function describePlan(name: string, plan: Plan): string {
  const headline = plan.refused
    ? `refused: ${plan.refused}`
    : plan.gone
      ? plan.actions.length > 0 ? 'remove (manifest gone)' : 'gone'
      : plan.rollout
        ? `deploy ${plan.rollout.image}:${plan.rollout.tag} (${plan.rollout.strategy})`
        : plan.actions.length > 0
          ? 'repair'
          : `up to date: ${plan.outcome.phase}, ${plan.outcome.message}`;
  const lines = [`${name}: ${headline}`, ...plan.actions.map((a) => `  ${SYMBOL[a.type]} ${describeAction(a)}  (${a.reason})`)];
  if (plan.requeueAfterMs !== undefined && plan.actions.every((a) => a.type !== 'retire')) lines.push(`  … old containers retire in ${Math.ceil(plan.requeueAfterMs / 1000)}s`);
  return lines.join('\n') + '\n';
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
      return `switch traffic to ${action.revision.split('@')[0]}`;
    case 'retag':
      return `tag ${action.repository}:latest${action.previous ? ` (and :previous)` : ''}`;
    case 'retire':
      return `retire ${action.containers.map((c) => c.name).join(', ')}`;
  }
}
