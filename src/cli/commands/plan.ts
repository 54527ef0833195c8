import { resolve } from 'node:path';
import { DesiredState } from '../../controller/desired-state.js';
import { ManifestDirectory } from '../../manifest/load.js';
import { formatProblem } from '../../manifest/types.js';
import { directTraffic } from '../../proxy/direct.js';
import type { Action, Plan } from '../../reconcile/actions.js';
import { formatDiff } from '../../reconcile/diff.js';
import { previewApp } from '../../reconcile/preview.js';
import { parseRevisionKey } from '../../reconcile/revision.js';
import { createDockerRuntime } from '../../runtime/docker/docker-runtime.js';
import { StateStore } from '../../state/store.js';
import { HISTORY_LIMIT } from '../../state/types.js';
import { systemClock } from '../../util/clock.js';
import { silentLogger } from '../../util/logger.js';
import { parseCommand, positiveInteger, sharedOptions } from '../options.js';
import type { Output } from '../output.js';
import { claimOptions, PROXY_FLAGS, trafficRouter } from '../proxy-options.js';
import { heldClaims } from '../../reconcile/held-claims.js';

const PLAN_FLAGS = {
  manifests: { type: 'string', default: 'manifests' },
  'exit-code': { type: 'boolean', default: false },
  'allow-empty': { type: 'boolean', default: false },
  'keep-revisions': { type: 'string', default: '5' },
  ...PROXY_FLAGS,
} as const;

/**
 * What one pass would do now, per app, with reasons. Changes nothing. Under the headline of an app
 * with something to do, a diff of what runs against what the manifest wants (env keys only).
 * Exits 1 when the directory has problems (as `validate`), else 2 with `--exit-code` while
 * changes are pending.
 */
export async function planCommand(args: string[], out: Output): Promise<number> {
  const { values } = parseCommand(args, PLAN_FLAGS, false);
  const shared = sharedOptions(values);
  const { namespace } = shared;
  const keepRevisions = positiveInteger(values, 'keep-revisions', 1, HISTORY_LIMIT);
  const traffic = trafficRouter(values, namespace, silentLogger());
  const manifests = new ManifestDirectory(resolve(values.manifests), { namespace, allowHostPaths: shared.allowHostPaths, ...claimOptions(values) });
  const desired = new DesiredState(values['allow-empty'], claimOptions(values));
  const runtime = createDockerRuntime();
  const state = await StateStore.read(shared.stateDir, namespace);
  const running = await runtime.listContainers(namespace);
  const routed = await traffic.routed();
  // As at berth's start: who keeps a contested port or domain is judged on what the host holds.
  desired.setHostClaims(heldClaims(running, routed));
  desired.update(await manifests.read());
  const names = [...new Set([...desired.names(), ...running.map((c) => c.app), ...routed])].sort();

  let pending = 0;
  for (const name of names) {
    const { plan, diff } = await previewApp(
      { runtime, clock: systemClock, state, traffic, desired: (n) => desired.get(n) },
      { namespace, proxy: traffic !== directTraffic, keepRevisions },
      name,
    );
    if (plan.actions.length > 0) pending++;
    out.stdout(describePlan(name, plan, formatDiff(diff)));
  }
  const problems = desired.problems();
  for (const problem of problems) out.stdout(`! ${formatProblem(problem)}\n`);
  for (const warning of desired.warnings()) out.stdout(`! ${formatProblem(warning)}\n`);
  if (names.length === 0) out.stdout('no apps\n');
  if (problems.length > 0) return 1;
  return values['exit-code'] && pending > 0 ? 2 : 0;
}

/** The headline, then `diff` (lines already indented), then one line per action. */
export function describePlan(name: string, plan: Plan, diff: readonly string[] = []): string {
  const headline = plan.refused
    ? `refused: ${plan.refused}`
    : plan.outcome.phase === 'Invalid' && plan.actions.length === 0
      ? `invalid, nothing changes for it: ${plan.outcome.message}`
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

const SYMBOL: Record<Action['type'], string> = { pull: '↓', tag: '#', stop: '■', remove: '-', create: '+', check: '?', switch: '→', retag: '#', retire: '-', route: '→', unroute: '-', untag: '-' };

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
    case 'route':
      return `route the proxy to ${action.endpoints.join(', ') || 'nothing (503)'}`;
    case 'unroute':
      return 'remove the proxy route';
    case 'untag':
      return `untag ${action.refs.join(', ')}`;
  }
}
