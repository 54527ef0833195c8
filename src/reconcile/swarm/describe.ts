/**
 * A Swarm plan in words, as `berth plan` prints it (pure): one step per action that sends
 * something (to the registry, Swarm or the proxy), in the order the executor runs them, and the
 * notes after them.
 *
 * A `watch` sends nothing: the create's or update's step stands for it (a rollout is watched to
 * its end), and a watch of a rollout Swarm is running already (berth restarted mid-rollout) is a
 * note. So a create is one line, as it always was.
 */
import type { PlannedStep } from '../core/reconciler.js';
import type { SwarmAction, SwarmPlan } from './actions.js';

/** The steps of `plan`; none when it sends nothing. */
export function describeSteps(plan: SwarmPlan): PlannedStep[] {
  return plan.actions.flatMap((action) => {
    const step = describeAction(action);
    return step ? [{ ...step, reason: action.reason }] : [];
  });
}

/** What the steps do not say: a rollout Swarm runs now, which a pass watches; the deploy.monitor watch after a rollout. */
export function describeNotes(plan: SwarmPlan): string[] {
  const resumed = plan.actions.some((a) => a.type === 'watch' && a.since !== undefined);
  return [
    ...(resumed ? ['… Swarm is rolling it out now; a pass watches it to its end'] : []),
    ...(plan.monitorAfterMs !== undefined
      ? [
          `… once Swarm completes it, the new tasks are watched for deploy.monitor (${plan.monitorAfterMs / 1000}s): one that ends rolls the service back`,
        ]
      : []),
  ];
}

function describeAction(action: SwarmAction): Omit<PlannedStep, 'reason'> | undefined {
  switch (action.type) {
    case 'release':
      return {
        symbol: '▶',
        text:
          action.existing !== undefined
            ? `wait for the release job ${action.job.name} under way (${JSON.stringify(action.hook.command)})`
            : `release ${JSON.stringify(action.hook.command)} as Swarm job ${action.job.name} of ${action.job.image} (timeout ${action.hook.timeout}s)`,
      };
    case 'postDeploy':
      return {
        symbol: '▶',
        text: `post-deploy ${JSON.stringify(action.hook.command)} as Swarm job ${action.job.name} once the rollout completes`,
      };
    case 'removeJob':
      return { symbol: '-', text: `remove Swarm job ${action.name}` };
    case 'removeReleaseJob':
      return { symbol: '-', text: 'remove the completed release job once the service carries its revision' };
    case 'push':
      return { symbol: '↑', text: `push ${action.source} as ${action.target}` };
    case 'makeSecrets':
      return { symbol: '+', text: `make Docker secret(s) ${action.secrets.map((s) => s.name).join(', ')}` };
    case 'create':
      return {
        symbol: '+',
        text: `create service ${action.spec.name} (${action.spec.image}, ${action.spec.replicas} replica(s), ${action.spec.update.order})`,
      };
    case 'update':
      return {
        symbol: '~',
        text: `update service ${action.spec.name} to ${action.spec.image}${action.rolling ? `, rolled out ${action.spec.update.order}` : ''}`,
      };
    case 'watch':
      return undefined;
    case 'follow':
      return { symbol: '→', text: 'route the proxy to the running tasks once the rollout ends' };
    case 'rollback':
      return { symbol: '←', text: `ask Swarm to roll service ${action.id.slice(0, 12)} back to its previous spec` };
    case 'monitor':
      return {
        symbol: '?',
        text: `watch the new tasks of ${action.spec.name} until ${new Date(action.since + action.windowMs).toISOString().slice(11, 19)} UTC`,
      };
    case 'revert':
      return { symbol: '←', text: `ask Swarm to roll service ${action.id.slice(0, 12)} back to its previous spec` };
    case 'recordHold':
      return {
        symbol: '+',
        text: `label service ${action.id.slice(0, 12)} with the hold of ${action.labels['berth.held-revision'] ?? ''}`,
      };
    case 'sweepSecrets':
      return { symbol: '-', text: "remove the app's Docker secrets no spec of its service mounts any more" };
    case 'removeSecret':
      return { symbol: '-', text: `remove Docker secret ${action.name}` };
    case 'remove':
      return { symbol: '-', text: `remove service ${action.id.slice(0, 12)}` };
    case 'route':
      return { symbol: '→', text: `route the proxy to ${action.endpoints.join(', ') || 'nothing (503)'}` };
    case 'unroute':
      return { symbol: '-', text: 'remove the proxy route' };
  }
}
