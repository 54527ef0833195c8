/**
 * A Docker plan in words, for `berth plan`: one step per action (symbol, text, reason), in the
 * order the executor runs them, and the notes that follow (a retirement due later, secret files
 * left alone). Pure.
 */
import { shortId } from '../../util/short-id.js';
import type { AppPreview, PlannedStep } from '../core/reconciler.js';
import { parseRevisionKey } from '../core/revision.js';
import type { Action, Observation, Plan } from './actions.js';

/** How much of a secrets digest a step shows. */
const DIGEST_CHARS = 12;

/** The steps and notes of `plan` for the app `name`; `observation` (when given) adds what it found but left alone. */
export function describeDockerPlan(
  name: string,
  plan: Plan,
  observation?: Pick<Observation, 'secretFiles'>,
): Pick<AppPreview, 'steps' | 'notes'> {
  const steps: PlannedStep[] = plan.actions.map((a) => ({
    symbol: SYMBOL[a.type],
    text: describeAction(a, name),
    reason: a.reason,
  }));
  const notes: string[] = [];
  if (plan.requeueAfterMs !== undefined && plan.actions.every((a) => a.type !== 'retire'))
    notes.push(`… old containers retire in ${Math.ceil(plan.requeueAfterMs / 1000)}s`);
  const unsafe = observation?.secretFiles?.unsafe;
  if (unsafe !== undefined) notes.push(`! the secret files of ${name} are not swept: ${unsafe}`);
  return { steps, notes };
}

/** The symbol `berth plan` puts before each kind of action. */
export const SYMBOL: Record<Action['type'], string> = {
  pull: '↓',
  tag: '#',
  stop: '■',
  remove: '-',
  create: '+',
  check: '?',
  switch: '→',
  canaryStep: '⇉',
  retag: '#',
  retire: '-',
  route: '→',
  unroute: '-',
  untag: '-',
  release: '▶',
  postDeploy: '▶',
  probe: '?',
  rollback: '←',
  sweepSecrets: '-',
};

/** What one action of the app `name` does, in one line (its reason apart). */
export function describeAction(action: Action, name: string): string {
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
      return (
        `create ${action.spec.name}` +
        `${ports.length ? ` ports ${ports.join(',')}` : ''}${env.length ? ` env ${env.join(',')}` : ''}`
      );
    }
    case 'check':
      return `check ${action.containers.join(', ')}`;
    case 'switch':
      return `switch traffic to ${parseRevisionKey(action.revision).specHash}`;
    case 'canaryStep':
      return `canary: ${action.percent}% of requests to ${parseRevisionKey(action.revision).specHash}`;
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
    case 'release':
      return (
        `release ${JSON.stringify(action.hook.command)} in a one-off container of ${shortId(action.imageId)} ` +
        `(timeout ${action.hook.timeout}s)`
      );
    case 'postDeploy':
      return `post-deploy ${JSON.stringify(action.hook.command)} in ${action.container}`;
    case 'probe':
      return `probe ${action.containers.join(', ')}`;
    case 'rollback':
      return (
        `switch traffic back to ${parseRevisionKey(action.to).specHash}, ` +
        `remove ${action.containers.map((c) => c.name).join(', ')}`
      );
    case 'sweepSecrets':
      return describeSweep(action, name);
  }
}

/** `sweep secret files of web: 3f2a1c9b7d0e, …`, and their directory when none is kept. */
function describeSweep(action: Extract<Action, { type: 'sweepSecrets' }>, name: string): string {
  const digests = action.remove.map((d) => d.slice(0, DIGEST_CHARS)).join(', ');
  if (action.keep.length > 0) return `sweep secret files of ${name}: ${digests}`;
  return digests === ''
    ? `sweep secret files of ${name}: its empty directory ${action.root}`
    : `sweep secret files of ${name}: ${digests}, and their directory ${action.root}`;
}
