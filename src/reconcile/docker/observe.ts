/**
 * Observing one app: what the planner needs, gathered from the engine, the proxy, berth's record
 * and the app's decrypted secret files on the host. Reads only.
 */
import { opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { appRepository, imageRef } from '../../manifest/image-ref.js';
import type { App } from '../../manifest/types.js';
import type { AccessLogTarget, TrafficRouter } from '../../proxy/types.js';
import { ContainerNotFoundError } from '../../runtime/errors.js';
import type { ContainerDetail, ContainerSummary, Runtime } from '../../runtime/types.js';
import type { StateStore } from '../../state/store.js';
import type { Clock } from '../../util/clock.js';
import { ensurePrivateDirectory, UnsafeDirectoryError } from '../../util/private-dir.js';
import { revisionKey } from '../core/revision.js';
import type { Desired, ImageState, Observation, SecretFilesOnDisk } from './actions.js';
import { resolveLocalImage, type ImageSource } from './local-image.js';
import { RESTART_MEMORY_MS } from './plan.js';
import { routeTargets, servingEndpoints } from './serving.js';
import type { CanaryTraffic } from '../../proxy/access-log/canary-traffic.js';
import { canaryRoute } from './plan-canary.js';
import type { CanaryRecord } from '../../state/types.js';
import type { ObservedCanary } from './actions.js';

/** What observing asks of the proxy: reads only. */
export type RouteLookup = Pick<TrafficRouter, 'isRouted' | 'hasRoute'>;

/** Where an observation is read from. */
export interface ObserveDeps {
  runtime: Runtime;
  clock: Clock;
  state: StateStore;
  traffic: RouteLookup;
  desired(name: string): Desired;
  /** nginx's access log, read by the collector `run` started with --proxy nginx; absent otherwise (and in `plan`). */
  canary?: CanaryTraffic;
}

/** What an observation depends on besides the app: the namespace and berth's settings. */
export interface ObserveOptions {
  namespace: string;
  proxy: boolean;
  /** Deployed revisions whose pulled or mirrored images stay tagged, for rollbacks without a pull. */
  keepRevisions: number;
  /** `<secrets-dir>/<namespace>`: apps' decrypted secret files, swept as their containers go. */
  secretsRoot?: string;
}

/**
 * Gathers what the planner needs about one app from the engine, the proxy and berth's record:
 * its containers, its image, its serving revision and route. The engine calls (a container list,
 * up to three image inspects) run concurrently: a reaction waits for one round trip, not four.
 * `listed`: the app's containers when the caller has just listed them (no second list).
 */
export async function observeApp(
  deps: ObserveDeps,
  options: ObserveOptions,
  name: string,
  listed?: ContainerSummary[],
): Promise<Observation> {
  const observation = await observeWith(
    deps,
    options,
    name,
    listed ?? deps.runtime.listContainers(options.namespace, name),
    deps.runtime,
    deps.traffic,
  );
  const servingDetails = await inspectServing(deps.runtime, observation);
  return servingDetails ? { ...observation, servingDetails } : observation;
}

/**
 * The serving revision's containers, inspected (restart counts, exit codes, health): what the
 * watch after a switch, and the report of a container that keeps restarting, are judged on.
 */
async function inspectServing(runtime: Runtime, observation: Observation): Promise<ContainerDetail[] | undefined> {
  const { serving } = observation;
  if (observation.desired.kind !== 'present' || serving === undefined) return undefined;
  const ids = observation.containers
    .filter((c) => revisionKey(c) === serving.revision && c.state !== 'removing')
    .map((c) => c.id);
  const details = await Promise.all(
    ids.map((id) =>
      runtime.inspectContainer(id).catch((error: unknown) => {
        if (error instanceof ContainerNotFoundError) return undefined;
        throw error;
      }),
    ),
  );
  // An inspect after a restart shows only the new run (exit code 0): the crash's code is in the engine's event log,
  // asked only of a restart the plan still reports (within RESTART_MEMORY_MS), not at every reconcile of an old one.
  return Promise.all(
    details
      .filter((d): d is ContainerDetail => d !== undefined)
      .map(async (d) =>
        d.restartCount > 0 && d.exitCode === 0 && observation.now - d.startedAt < RESTART_MEMORY_MS
          ? { ...d, exitCode: (await runtime.lastExitCode(d.id, d.createdAt).catch(() => undefined)) ?? d.exitCode }
          : d,
      ),
  );
}

/**
 * The observation of `name` from its containers (known, or still being listed), an image source
 * and a route lookup (a resync's snapshot, or the engine and proxy themselves); also reads the
 * app's desired state and record, and lists its secret files on the host (with a secrets root).
 */
export async function observeWith(
  deps: Omit<ObserveDeps, 'runtime' | 'traffic'>,
  options: ObserveOptions,
  name: string,
  listed: ContainerSummary[] | Promise<ContainerSummary[]>,
  images: ImageSource,
  routes: RouteLookup,
): Promise<Observation> {
  const { namespace } = options;
  const desired = deps.desired(name);
  let image: ImageState | undefined;
  let localTagImageId: string | undefined;
  let latestImageId: string | undefined;
  const containers = Promise.resolve(listed);
  const secretFiles =
    options.secretsRoot !== undefined ? observeSecretFiles(join(options.secretsRoot, name)) : undefined;
  // Awaited below; if an image lookup fails first, its failure is the one reported (no unhandled rejection).
  containers.catch(() => undefined);
  secretFiles?.catch(() => undefined);
  if (desired.kind === 'present') {
    const { spec } = desired.app;
    const [{ found, mirror }, latest] = await Promise.all([
      resolveLocalImage(images, namespace, name, spec.image, spec.tag),
      images.inspectImage(imageRef(appRepository(namespace, name), 'latest')),
    ]);
    image = found ? { kind: 'present', id: found.id, repoDigests: found.repoDigests } : { kind: 'missing' };
    if (mirror) localTagImageId = mirror.id;
    latestImageId = latest?.id;
  }
  const record = deps.state.get(name);
  const serving =
    record?.servingRevision !== undefined && record.switchedAt !== undefined
      ? { revision: record.servingRevision, switchedAt: record.switchedAt }
      : undefined;
  const observed = await containers;
  const onDisk = await secretFiles;
  const canary =
    record?.canary !== undefined && desired.kind === 'present'
      ? observeCanary(desired.app, record.canary, observed, deps.canary)
      : undefined;
  return {
    namespace,
    name,
    desired,
    containers: observed,
    route: await routeOf(routes, name, desired, serving, record?.previousRevision, observed, deps.clock.now(), {
      ...(canary !== undefined && serving?.revision === canary.stableRevision ? { canary } : {}),
      ...(deps.canary ? { accessLog: deps.canary.target } : {}),
    }),
    ...(canary ? { canary } : {}),
    retention: { history: record?.history ?? [], owned: record?.ownedTags ?? [], keep: options.keepRevisions },
    released: record?.released ?? [],
    ...(record?.previousRevision !== undefined ? { previousRevision: record.previousRevision } : {}),
    ...(record?.held !== undefined ? { held: { revision: record.held.revision, reason: record.held.reason } } : {}),
    ...(image ? { image } : {}),
    ...(localTagImageId ? { localTagImageId } : {}),
    ...(latestImageId ? { latestImageId } : {}),
    ...(serving ? { serving } : {}),
    ...(onDisk ? { secretFiles: onDisk } : {}),
    proxy: options.proxy,
    now: deps.clock.now(),
  };
}

/**
 * For an app with a manifest, whether the proxy routes exactly to its serving revision; for one
 * without, whether any route is left.
 */
async function routeOf(
  routes: RouteLookup,
  name: string,
  desired: Desired,
  serving: { revision: string; switchedAt: number } | undefined,
  previousRevision: string | undefined,
  containers: readonly ContainerSummary[],
  now: number,
  split: { canary?: CanaryRecord; accessLog?: AccessLogTarget },
): Promise<Observation['route']> {
  if (desired.kind === 'absent') {
    const held = await routes.hasRoute(name);
    return { held, current: !held };
  }
  if (serving === undefined) return { held: false, current: true };
  if (split.canary !== undefined) {
    // A canary under way: the proxy should hold its split, not the serving revision alone.
    const route = canaryRoute(desired.app, split.canary, containers);
    const extras = { canary: route.canary, ...(split.accessLog ? { accessLog: split.accessLog } : {}) };
    if (await routes.isRouted(desired.app, route.endpoints, extras)) return { held: true, current: true };
    return { held: await routes.hasRoute(name), current: false };
  }
  const { endpoints, backups } = routeTargets(desired.app, serving, previousRevision, containers, now);
  if (await routes.isRouted(desired.app, endpoints, { backups })) return { held: true, current: true };
  return { held: await routes.hasRoute(name), current: false };
}

/**
 * The canary berth's record names, with both revisions' numbers since its step started (or since
 * the collector started, when later: what came before is not in its log).
 */
function observeCanary(
  app: App,
  record: CanaryRecord,
  containers: readonly ContainerSummary[],
  traffic: CanaryTraffic | undefined,
): ObservedCanary {
  if (traffic === undefined) return { ...record };
  const canaryAddresses = servingEndpoints(app, record.revision, containers);
  const stableAddresses = servingEndpoints(app, record.stableRevision, containers);
  const since = Math.max(record.stepStartedAt, traffic.startedAt);
  const stats = traffic.stats(
    new Map([
      [record.revision, canaryAddresses],
      [record.stableRevision, stableAddresses],
    ]),
    since,
  );
  const none = { requests: 0, errors: 0 };
  return {
    ...record,
    stats: { canary: stats.get(record.revision) ?? none, stable: stats.get(record.stableRevision) ?? none },
  };
}

/** Entries of an app's secrets directory one observation lists at most; a sweep of more takes several rounds. */
export const SECRET_DIGESTS_LISTED = 256;

/**
 * The entries of `root` (an app's secrets directory: one per digest), listed only once `root` has
 * passed the checks its files are written under (util/private-dir.ts: berth's own, reachable by
 * no one else, no link another user could have planted on the way); a directory that fails them
 * is reported `unsafe`, never looked into. Undefined when `root` does not exist.
 */
async function observeSecretFiles(root: string): Promise<SecretFilesOnDisk | undefined> {
  let verified: string;
  try {
    verified = await ensurePrivateDirectory(root, { secret: true });
  } catch (error) {
    if (!(error instanceof UnsafeDirectoryError)) throw error;
    // A component missing on the way: there is no directory, hence nothing to sweep.
    if (error.reason === 'does not exist') return undefined;
    return { root, digests: [], unsafe: error.message };
  }
  const digests: string[] = [];
  // The iterator closes the directory when the loop ends or breaks.
  for await (const entry of await opendir(verified)) {
    digests.push(entry.name);
    if (digests.length >= SECRET_DIGESTS_LISTED) break;
  }
  return { root, digests: digests.sort() };
}
