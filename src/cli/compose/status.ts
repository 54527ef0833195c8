/**
 * What `run --listen` serves: the Prometheus metrics, read from the parts at scrape time, and the
 * status page, /healthz, /readyz, /api/apps and the git webhook. fastify and prom-client load only
 * for --listen: every other start stays lean.
 */
import type { Controller, Readiness } from '../../controller/controller.js';
import type { DesiredState } from '../../controller/desired-state.js';
import type { BerthEvent } from '../../events/types.js';
import { formatListenAddress } from '../../http/listen-address.js';
import type { StatusServer } from '../../http/server.js';
import { formatProblem } from '../../manifest/types.js';
import type { createPrometheusMetrics } from '../../metrics/prometheus.js';
import type { ServiceRuntime } from '../../runtime/services.js';
import type { GitSource } from '../../source/git/git-source.js';
import type { StateStore } from '../../state/store.js';
import { appStatuses, engineOutage } from '../../status/app-status.js';
import type { ObservedContainers } from '../../status/observed-containers.js';
import { ObservedTasks } from '../../status/observed-tasks.js';
import type { SwarmTasks } from '../../status/replicas.js';
import { sourceLine } from '../../status/source-line.js';
import type { Clock } from '../../util/clock.js';
import type { LeaseView } from '../../lease/elector.js';
import type { Logger } from '../../util/logger.js';
import type { GitSettings } from '../git-options.js';
import type { ListenSettings } from '../listen-options.js';
import type { Engine } from './engine.js';

/** berth's Prometheus metrics: counters, gauges and their registry. */
type PrometheusMetrics = ReturnType<typeof createPrometheusMetrics>;

/** What the gauges read at each scrape. */
export interface MetricParts {
  state: StateStore;
  queue: { readonly depth: number };
  desired: Pick<DesiredState, 'problems'>;
  /** With --git: berth_source_up, from the condition the source last recorded. */
  followsGit: boolean;
  /** On Swarm with leader election: berth_leader. */
  leading?: () => boolean;
}

/** berth's metrics, each gauge read from `parts` at scrape time. */
export async function statusMetrics(parts: MetricParts): Promise<PrometheusMetrics> {
  const prometheus = await import('../../metrics/prometheus.js');
  const { state, queue, desired } = parts;
  return prometheus.createPrometheusMetrics({
    phases: () => state.names().flatMap((name) => state.get(name)?.phase ?? []),
    queueDepth: () => queue.depth,
    manifestErrors: () => desired.problems().length,
    stateWritable: () => state.writeFailure() === undefined,
    certificates: () => state.certificates(),
    ...(parts.followsGit ? { sourceUp: () => state.source()?.error === undefined } : {}),
    canaries: () =>
      state.names().flatMap((app) => {
        const canary = state.get(app)?.canary;
        if (canary === undefined) return [];
        const numbers = canary.numbers;
        return [
          {
            app,
            percent: canary.percent,
            ...(numbers ? { errorRate: numbers.errorRate } : {}),
            ...(numbers?.p95Ms !== undefined ? { p95Ms: numbers.p95Ms } : {}),
          },
        ];
      }),
    ...(parts.leading ? { leading: parts.leading } : {}),
  });
}

/** What the status server shows and answers from. */
export interface StatusParts {
  namespace: string;
  clock: Clock;
  logger: Logger;
  listening: ListenSettings;
  metrics: PrometheusMetrics;
  controller: Pick<Controller, 'readiness'>;
  state: StateStore;
  desired: Pick<DesiredState, 'problems'>;
  /** The containers as the controller last saw them (engine.wrap fed them); on Swarm the manager's tasks are shown instead. */
  observed: ObservedContainers;
  engine: Pick<Engine, 'replicas'>;
  events: { events(): BerthEvent[] };
  /** With --git: the source's condition on the page, and with --git-webhook-secret-file the push webhook. */
  git?: { settings: GitSettings; source: Pick<GitSource, 'status' | 'fetchNow'> };
  /** With --registry-webhook-secret-file: the registry webhook, which wakes image automation. */
  registryWebhook?: { secret: Buffer; onPush(repository: string): string[] };
  /** On Swarm with leader election: the role (a standby is not ready: 503 `standby`) and the lease shown. */
  lease?: { view(): LeaseView };
}

/** The status server, listening on --listen (the line saying where is logged); close() it at the end. */
export async function serveStatus(parts: StatusParts): Promise<StatusServer> {
  const { StatusServer } = await import('../../http/server.js');
  const { namespace, state, observed, engine, git, clock } = parts;
  const tasks =
    engine.replicas === 'tasks' ? new ObservedTasks(swarmTaskList(namespace), () => clock.now()) : undefined;
  // The first look at the tasks as the server starts: the first request already finds them.
  tasks?.refreshIfOlder(LISTED_TASKS_MAX_AGE_MS);
  const server = new StatusServer({
    namespace,
    readiness: () => readiness(parts),
    ...(parts.lease ? { lease: () => ({ ...parts.lease!.view() }) } : {}),
    snapshot: async () => ({
      ...statusSnapshot(state, tasks ? { tasks } : { observed }),
      problems: parts.desired.problems().map(formatProblem),
      ...(git ? { source: sourceLine(git.source.status(), clock.now()) } : {}),
      ...(parts.lease ? { lease: leaseLine(parts.lease.view()) } : {}),
      events: parts.events.events(),
    }),
    ...(git?.settings.webhookSecret !== undefined
      ? {
          gitWebhook: {
            secret: git.settings.webhookSecret,
            branch: git.settings.branch,
            onPush: () => void git.source.fetchNow(),
          },
        }
      : {}),
    ...(parts.registryWebhook ? { registryWebhook: parts.registryWebhook } : {}),
    onChange: (listener) => {
      const offState = state.onChange(listener);
      const offObserved = tasks ? tasks.onChange(listener) : observed.onChange(listener);
      return () => {
        offState();
        offObserved();
      };
    },
    metrics: parts.metrics.registry,
    limits: parts.listening.limits,
    clock,
    logger: parts.logger,
  });
  try {
    const bound = await server.listen(parts.listening.address);
    const url = `http://${formatListenAddress(bound)}`;
    parts.logger.info(
      { source: 'http', listen: url },
      `Status page on ${url}/ (also /healthz, /readyz, /metrics, /api/apps)`,
    );
    return server;
  } catch (error) {
    await server.close();
    throw error;
  }
}

/** The controller's readiness; a standby is never ready: it answers 503 `standby` (it serves /healthz all the same). */
function readiness(parts: StatusParts): Readiness {
  const own = parts.controller.readiness();
  const lease = parts.lease?.view();
  if (!lease || lease.role === 'leader') return own;
  return {
    ...own,
    ready: false,
    reasons: [
      `standby: the lease is held by ${lease.holder || 'nobody yet'}; this berth follows the tasks and takes over when the leader stops renewing`,
      ...own.reasons,
    ],
  };
}

/** The role and the lease in words, for the status page. */
export function leaseLine(lease: LeaseView): string {
  const age = lease.ageSeconds === undefined ? '' : `, last changed ${lease.ageSeconds} s ago`;
  const holder =
    lease.role === 'leader' ? 'this berth holds the lease' : `the lease is held by ${lease.holder || 'nobody'}`;
  return `${lease.role}: ${holder} (duration ${lease.durationSeconds} s${age}; ${lease.transitions} transition(s))`;
}

/** On Swarm, the manager's tasks are listed at most this often, whatever the number of requests. */
const LISTED_TASKS_MAX_AGE_MS = 5_000;

/**
 * What the status endpoints show: state beside the replicas as berth last saw them; no request
 * asks the engine. On one host, the containers as the controller last saw them (its resync, its
 * reconciles, the engine's events). On Swarm, the manager's tasks on every node, listed in the
 * background when what is known is older than LISTED_TASKS_MAX_AGE_MS (one list at a time,
 * shared). While the engine is lost or hung, state alone.
 */
function statusSnapshot(state: StateStore, seen: { observed: ObservedContainers } | { tasks: ObservedTasks }) {
  const engineReachable = state.engine()?.reachable !== false;
  const outages = [engineOutage(state.engine()), state.writeFailure()?.message].filter((line) => line !== undefined);
  let apps: ReturnType<typeof appStatuses>;
  if ('tasks' in seen) {
    if (engineReachable) seen.tasks.refreshIfOlder(LISTED_TASKS_MAX_AGE_MS);
    apps = appStatuses({ state, runtime: 'swarm', tasks: engineReachable ? seen.tasks.current() : undefined });
  } else {
    apps = appStatuses({ state, containers: engineReachable ? seen.observed.containers() : undefined });
  }
  return { apps, ...(outages.length > 0 ? { outage: outages.join('; ') } : {}) };
}

/** The namespace's tasks and the swarm's nodes, from the manager (its client made at the first list). */
function swarmTaskList(namespace: string): () => Promise<SwarmTasks> {
  let services: Promise<ServiceRuntime> | undefined;
  return async () => {
    services ??= import('../../runtime/docker/swarm-runtime.js').then((m) => m.createSwarmRuntime());
    const manager = await services;
    const [tasks, nodes] = await Promise.all([manager.listTasks(namespace), manager.listNodes()]);
    return { tasks, nodes };
  };
}
