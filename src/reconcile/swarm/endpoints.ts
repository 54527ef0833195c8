/**
 * Where a Swarm app's traffic goes: `<node address>:<published port>` of its tasks for the app's
 * first TCP port (host-mode publishing: each task on its own node). Pure.
 */
import type { App } from '../../manifest/types.js';
import type { TaskSummary } from '../../runtime/services.js';
import type { RouteAction } from './actions.js';

/**
 * The endpoints of the tasks meant to run; with `starting`, also of tasks that have started
 * and are not yet healthy: during a rollout the proxy knows a new task before Swarm stops the
 * old one, and retries the next endpoint while a new one does not answer yet.
 */
export function taskEndpoints(
  app: App,
  tasks: readonly TaskSummary[],
  nodes: readonly { id: string; addr: string }[],
  options: { starting: boolean },
): string[] {
  const port = app.spec.ports.find((p) => p.protocol === 'tcp')?.container;
  if (port === undefined) return [];
  const addrOf = new Map(nodes.map((n) => [n.id, n.addr]));
  const states = options.starting ? ['running', 'starting'] : ['running'];
  return [
    ...new Set(
      tasks
        .filter((t) => t.desiredState === 'running' && states.includes(t.state))
        .flatMap((t) => {
          const published = t.ports.find((p) => p.target === port && p.protocol === 'tcp')?.published;
          const addr = addrOf.get(t.nodeId);
          return published === undefined || addr === undefined || addr === ''
            ? []
            : [`${addr.includes(':') ? `[${addr}]` : addr}:${published}`];
        }),
    ),
  ].sort();
}

/**
 * The route that points the proxy at the app's tasks as they are now (with `starting`, at new
 * tasks too), or undefined when there is none to route to or `routed` (what this reconcile last
 * routed to) is that already.
 */
export function followRoutes(
  app: App,
  tasks: readonly TaskSummary[],
  nodes: readonly { id: string; addr: string }[],
  options: { starting: boolean },
  routed: readonly string[] = [],
): RouteAction | undefined {
  const endpoints = taskEndpoints(app, tasks, nodes, options);
  if (endpoints.length === 0) return undefined;
  if (endpoints.length === routed.length && endpoints.every((e, i) => e === routed[i])) return undefined;
  return {
    type: 'route',
    endpoints,
    reason: options.starting
      ? 'new tasks started: the proxy knows them before Swarm stops an old one'
      : 'the rollout ended: the proxy routes to the tasks that run',
  };
}
