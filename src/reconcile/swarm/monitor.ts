/**
 * deploy.monitor on Swarm (pure): when a pass watches a service's new tasks, and what each look
 * at them decides.
 *
 * Swarm watches each new task for its own short window (`update.monitorMs`) while it rolls an
 * update out, and rolls back a task that fails in it. berth's window comes after: once Swarm has
 * completed the update (`UpdateStatus.CompletedAt`, kept in the swarm, so a berth started again
 * resumes the window), the tasks of the new spec are looked at until deploy.monitor has passed. A
 * task of the new spec that ends (it exited, or Swarm stopped it as unhealthy; Swarm then starts
 * another for its slot, and the ended one stays in its list) makes berth ask Swarm to roll the
 * service back to its previous spec, watch that rollback to its end, and record the deploy as
 * rolled back; its revision is held. A manifest change, or another update of the service, ends
 * the watch: the next pass plans from what is wanted now. A pass looks for a slice of the window
 * at most (MONITOR_SLICE_MS), so a few apps watched at once never hold every worker of the
 * controller for the whole window; the next pass, queued at once, looks on.
 */
import type { App } from '../../manifest/types.js';
import type { ServiceSpec, ServiceSummary, TaskSummary } from '../../runtime/services.js';
import { serviceHashOf, specHashOf, type MonitorAction, type SwarmAction, type SwarmObservation } from './actions.js';
import { revisionOf } from './hold.js';

/** One look at the service and its tasks during the window. */
export interface MonitorSighting {
  /** The service as Swarm reports it now (undefined: it is gone). */
  service?: ServiceSummary;
  tasks: readonly TaskSummary[];
  now: number;
  /** The app's manifest changed since this pass planned. */
  superseded: boolean;
}

export type MonitorEnd =
  /** The window passed with no new task ended. */
  | { kind: 'done'; message: string }
  /** This pass's slice of the window passed: the next pass looks on. */
  | { kind: 'later'; message: string }
  /** A new task ended: the verdict's actions roll the service back. */
  | { kind: 'rolledBack'; message: string }
  /** The manifest or the service changed: the next pass plans from what is wanted now. */
  | { kind: 'superseded'; message: string };

export interface MonitorVerdict {
  /** Run now, in order: the rollback, its watch, the proxy's final route. */
  actions: SwarmAction[];
  /** Undefined: look again after a poll. */
  end?: MonitorEnd;
}

/** A task created this long before the update began is still this one's (the clocks of Swarm and berth differ a little). */
const CLOCK_SLACK_MS = 2_000;

/** The longest one pass looks at the new tasks before it leaves the rest of the window to the next. */
export const MONITOR_SLICE_MS = 10_000;

/**
 * The watch of `service`'s new tasks a pass runs now, if any: Swarm completed an update of it to
 * `next` less than deploy.monitor ago, and its previous spec is there to go back to.
 */
export function planMonitor(
  observation: SwarmObservation,
  app: App,
  service: ServiceSummary,
  next: ServiceSpec,
  revision: string,
): MonitorAction | undefined {
  const windowMs = app.spec.deploy.monitor * 1000;
  const { state, completedAt, startedAt } = service.update;
  if (windowMs <= 0 || state !== 'completed' || completedAt === undefined) return undefined;
  if (observation.now >= completedAt + windowMs) return undefined;
  const { previousSpecHash, previousImage, previousServiceHash } = service;
  if (previousSpecHash === undefined || previousImage === undefined) return undefined;
  // A label-only update (the hold's) leaves the same spec as its previous one: nothing to go back to.
  if (previousServiceHash === service.serviceHash) return undefined;
  return {
    type: 'monitor',
    id: service.id,
    spec: next,
    since: completedAt,
    rolloutSince: startedAt ?? completedAt,
    windowMs,
    lookUntil: Math.min(completedAt + windowMs, observation.now + MONITOR_SLICE_MS),
    from: revision,
    to: revisionOf(previousSpecHash, previousImage),
    deadlineMs: app.spec.deploy.progressDeadline * 1000,
    follow: observation.route !== undefined,
    reason: `Swarm completed the update at ${clockTime(completedAt)} UTC: its new tasks are watched for deploy.monitor (${app.spec.deploy.monitor}s)`,
  };
}

export function judgeMonitor(monitor: MonitorAction, sighting: MonitorSighting): MonitorVerdict {
  const seconds = monitor.windowMs / 1000;
  if (sighting.superseded)
    return { actions: [], end: { kind: 'superseded', message: 'the manifest changed: the next pass plans from it' } };
  const { service } = sighting;
  if (!service) return { actions: [], end: { kind: 'superseded', message: `service ${monitor.spec.name} is gone` } };
  if (service.serviceHash !== serviceHashOf(monitor.spec) || service.update.state !== 'completed')
    return {
      actions: [],
      end: {
        kind: 'superseded',
        message: `service ${monitor.spec.name} changed meanwhile (Swarm's update status: ${service.update.state})`,
      },
    };
  const failure = endedTask(monitor, sighting.tasks);
  if (failure !== undefined) {
    const reason = `${failure} within deploy.monitor (${seconds}s) after Swarm completed the update`;
    return {
      actions: [
        {
          type: 'revert',
          id: service.id,
          version: service.version,
          from: monitor.from,
          to: monitor.to,
          serviceHash: serviceHashOf(monitor.spec),
          reason,
        },
        {
          type: 'watch',
          spec: monitor.spec,
          until: 'rolledBack',
          deadlineMs: monitor.deadlineMs,
          follow: monitor.follow,
          reason: "until Swarm has rolled the service back (the proxy following the previous revision's tasks)",
        },
        ...(monitor.follow
          ? [{ type: 'follow' as const, reason: 'the proxy routes to the tasks that run once the rollback ends' }]
          : []),
      ],
      end: { kind: 'rolledBack', message: reason },
    };
  }
  if (sighting.now >= monitor.since + monitor.windowMs)
    return { actions: [], end: { kind: 'done', message: `no new task ended within deploy.monitor (${seconds}s)` } };
  if (sighting.now >= monitor.lookUntil)
    return { actions: [], end: { kind: 'later', message: 'the next pass watches the rest of deploy.monitor' } };
  return { actions: [] };
}

/**
 * `task dokku_web.1 ended (failed: task: non-zero exit (1))` for the first task of the new spec
 * that ended on its own (exited, with any code, or was stopped by Swarm as unhealthy or
 * rejected), or undefined. A task Swarm shut down itself (scaled away, its node drained) is no
 * failure of the revision.
 */
function endedTask(monitor: MonitorAction, tasks: readonly TaskSummary[]): string | undefined {
  const hash = specHashOf(monitor.spec);
  const ended = tasks
    .filter(
      (t) =>
        t.specHash === hash &&
        (t.image === undefined || t.image === monitor.spec.image) &&
        t.createdAt >= monitor.rolloutSince - CLOCK_SLACK_MS &&
        (t.state === 'failed' ||
          t.state === 'rejected' ||
          t.state === 'complete' ||
          (t.state === 'shutdown' && t.error !== '')),
    )
    .sort((a, b) => a.createdAt - b.createdAt)[0];
  if (!ended) return undefined;
  const why = ended.error || (ended.message !== ended.state ? ended.message : '');
  return `task ${monitor.spec.name}.${ended.slot} ended (${ended.state}${why ? `: ${why}` : ''})`;
}

/** `HH:MM:SS` of `ms` in UTC. */
function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}
