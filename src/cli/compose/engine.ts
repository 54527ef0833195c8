/**
 * The engine berth drives, chosen once from `--runtime`: the one place of the CLI that names an
 * engine's reconciler. `docker` runs each app's containers on this host (reconcile/docker/);
 * `swarm` schedules each app as one Swarm service (reconcile/swarm/, loaded only then). Every
 * other part knows the engine through `AppReconciler` and the few policies below.
 */
import type { DesiredState } from '../../controller/desired-state.js';
import { ExpectedEvents } from '../../controller/expected-events.js';
import { expectingRuntime } from '../../controller/expecting-runtime.js';
import { EngineEvents } from '../../controller/sources/engine-events.js';
import type { HostEventSource } from '../../controller/sources/host-events.js';
import type { EventSink } from '../../events/types.js';
import type { ControllerMetrics } from '../../metrics/types.js';
import type { AppReconciler } from '../../reconcile/core/reconciler.js';
import { Reconciler } from '../../reconcile/docker/reconciler.js';
import { createDockerRuntime } from '../../runtime/docker/docker-runtime.js';
import type { Runtime } from '../../runtime/types.js';
import type { StateStore } from '../../state/store.js';
import { type ObservedContainers, observingRuntime } from '../../status/observed-containers.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { RUNTIME_FLAG, type RuntimeKind, runtimeKind } from '../runtime-flag.js';
import type { ComposedProxy } from './proxy.js';

/** The flags that choose the engine, shared by `run` and `plan`. */
export const ENGINE_FLAGS = {
  ...RUNTIME_FLAG,
  'swarm-registry': { type: 'string' },
} as const;

/** The engine flags as parseArgs gives them. */
export interface EngineValues {
  runtime: string;
  'swarm-registry'?: string | undefined;
}

/** The engine the flags ask for, checked. */
export interface EngineChoice {
  kind: RuntimeKind;
  /** `--swarm-registry`: where images only this host has are pushed, so every node can pull them (Swarm only). */
  registry?: string;
}

/** The engine flags checked (`--runtime`: docker or swarm), once per command. */
export function engineChoice(values: EngineValues): EngineChoice {
  const kind = runtimeKind(values.runtime);
  const registry = values['swarm-registry'];
  return { kind, ...(registry !== undefined ? { registry } : {}) };
}

/** What every engine's reconciler is built from. */
export interface ReconcilerParts {
  /** Read and written by `run`; `plan` gives a store it never writes. */
  state: StateStore;
  proxy: ComposedProxy;
  /** Each app's desired state as the manifests determine it now. */
  desired: Pick<DesiredState, 'get'>;
  metrics?: ControllerMetrics;
  /** `berth retry` requests (run only). */
  retries?: { take(name: string): Promise<boolean> };
  /** `berth promote` / `berth abort` requests (run only). */
  canaryDecisions?: { take(name: string): Promise<'promote' | 'abort' | undefined> };
  /** Where what happened is said (run only: timeline, notifications). */
  events?: EventSink;
  /** `<secrets-dir>/<namespace>` (run only): apps' decrypted files, swept as their containers go. */
  secretsRoot?: string;
  /**
   * Swarm leader election (run only): every write to the swarm is fenced by `confirm()` (the renew
   * deadline and the lease read back, right before it), and a standby plans only its own node's
   * proxy by `leading()`.
   */
  lease?: { leading(): boolean; confirm(): Promise<boolean> };
}

/** The chosen engine: its runtime, its policies, and a maker of its reconciler. */
export interface Engine {
  readonly kind: EngineChoice['kind'];
  /** The Docker engine berth talks to (a swarm's manager, for Swarm): its containers, images and events. */
  readonly runtime: Runtime;
  /**
   * The manifest policy of the engine: on one host, a manifest's host paths are checked where they
   * would be mounted (manifest/host-paths.ts); a swarm mounts them on whichever node runs the task.
   * Read with `kind`, which says what Swarm cannot honour (manifest/swarm-fields.ts).
   */
  readonly checksHostPaths: boolean;
  /**
   * What the status endpoints show as each app's replicas: this engine's `containers`, which the
   * controller's own looks keep current; or a swarm's `tasks` on every node, from the manager's
   * task list, which the status server lists itself (compose/status.ts).
   */
  readonly replicas: 'containers' | 'tasks';
  /**
   * The engine's events and reachability, for the controller; the events berth's own starts, stops
   * and removes cause (through `runtime`) are expected, not acted on.
   */
  hostEvents(): HostEventSource;
  /** The engine's reconciler; for Swarm, rejects when the engine is no swarm manager. */
  reconciler(parts: ReconcilerParts): Promise<AppReconciler>;
}

/** Where and how the engine works, the same for every part it makes. */
export interface EngineOptions {
  namespace: string;
  clock: Clock;
  /** Where the reconciler and the host events say what they do (`plan`: a silent one). */
  logger: Logger;
  /** How long a container is given to stop before it is killed. */
  stopTimeoutSeconds: number;
  /** Deployed revisions whose images stay tagged, for rollbacks without a pull (one host only). */
  keepRevisions: number;
  /** A pull (and on Swarm, the push to --swarm-registry) with no progress for this long is abandoned (run's --pull-stall-timeout). */
  pullStallMs?: number;
  /** `run --listen`: what the runtime's container lists, starts, stops and removes show is told to `observed` (the status page's containers). */
  observed?: ObservedContainers;
}

/** The engine `choice` names, over the Docker engine of DOCKER_HOST. Asks the engine nothing yet. */
export function composeEngine(choice: EngineChoice, options: EngineOptions): Engine {
  const { namespace, clock, logger } = options;
  const docker = createDockerRuntime(options.pullStallMs !== undefined ? { pullStallMs: options.pullStallMs } : {});
  const expected = new ExpectedEvents(clock);
  const expecting = expectingRuntime(docker, expected);
  const runtime = options.observed ? observingRuntime(expecting, options.observed) : expecting;
  const swarm = choice.kind === 'swarm';
  return {
    kind: choice.kind,
    runtime,
    checksHostPaths: !swarm,
    replicas: swarm ? 'tasks' : 'containers',
    hostEvents: () => new EngineEvents(namespace, { runtime, clock, logger, expected }),
    reconciler: (parts) =>
      swarm ? swarmReconciler(parts, options, choice.registry) : dockerReconciler(parts, options, runtime),
  };
}

/** The dependencies every engine's reconciler takes alike. */
function commonDeps(parts: ReconcilerParts, at: EngineOptions) {
  return {
    clock: at.clock,
    logger: at.logger,
    state: parts.state,
    traffic: parts.proxy.router,
    desired: (name: string) => parts.desired.get(name),
    metrics: parts.metrics,
    retries: parts.retries,
    events: parts.events,
  };
}

async function dockerReconciler(parts: ReconcilerParts, at: EngineOptions, runtime: Runtime): Promise<AppReconciler> {
  return new Reconciler(
    {
      ...commonDeps(parts, at),
      runtime,
      ...(parts.proxy.canary ? { canary: parts.proxy.canary } : {}),
      ...(parts.canaryDecisions ? { canaryDecisions: parts.canaryDecisions } : {}),
    },
    {
      namespace: at.namespace,
      proxy: parts.proxy.proxied,
      stopTimeoutSeconds: at.stopTimeoutSeconds,
      keepRevisions: at.keepRevisions,
      secretsRoot: parts.secretsRoot,
    },
  );
}

/** The Swarm reconciler, loaded only for --runtime swarm; rejects when the engine is no swarm manager. */
async function swarmReconciler(
  parts: ReconcilerParts,
  at: EngineOptions,
  registry: string | undefined,
): Promise<AppReconciler> {
  const [{ createSwarmRuntime }, { SwarmReconciler }] = await Promise.all([
    import('../../runtime/docker/swarm-runtime.js'),
    import('../../reconcile/swarm/reconciler.js'),
  ]);
  const swarm = createSwarmRuntime(at.pullStallMs !== undefined ? { pushStallMs: at.pullStallMs } : {});
  await swarm.swarm();
  const lease = parts.lease;
  const services = lease
    ? (await import('../../lease/fenced-services.js')).fencedServices(swarm, () => lease.confirm())
    : swarm;
  return new SwarmReconciler(
    {
      ...commonDeps(parts, at),
      services,
      ...(lease ? { role: () => (lease.leading() ? ('leader' as const) : ('standby' as const)) } : {}),
    },
    {
      namespace: at.namespace,
      stopTimeoutSeconds: at.stopTimeoutSeconds,
      ...(registry !== undefined ? { registry } : {}),
    },
  );
}
