import type { TrafficRouter } from '../proxy/types.js';
import type { ContainerSummary, Runtime } from '../runtime/types.js';
import type { StateStore } from '../state/store.js';
import type { Clock } from '../util/clock.js';
import type { Desired, ImageState, Observation } from './actions.js';
import { resolveLocalImage, type ImageSource } from './local-image.js';
import { servingEndpoints } from './serving.js';

/** What observing asks of the proxy: reads only. */
export type RouteLookup = Pick<TrafficRouter, 'isRouted' | 'hasRoute'>;
import { appRepository, imageRef } from '../manifest/image-ref.js';

export interface ObserveDeps {
  runtime: Runtime;
  clock: Clock;
  state: StateStore;
  traffic: RouteLookup;
  desired(name: string): Desired;
}

export interface ObserveOptions {
  namespace: string;
  proxy: boolean;
  /** Deployed revisions whose pulled or mirrored images stay tagged, for rollbacks without a pull. */
  keepRevisions: number;
}

/**
 * Gathers what the planner needs about one app from the engine, the proxy and berth's record:
 * its containers, its image, its serving revision and route. The engine calls (a container list,
 * up to three image inspects) run concurrently: a reaction waits for one round trip, not four.
 */
export async function observeApp(deps: ObserveDeps, options: ObserveOptions, name: string): Promise<Observation> {
  return observeWith(deps, options, name, deps.runtime.listContainers(options.namespace, name), deps.runtime, deps.traffic);
}

/**
 * The observation of `name` from its containers (known, or still being listed), an image source
 * and a route lookup (a resync's snapshot, or the engine and proxy themselves); also reads the
 * app's desired state and record.
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
  // Awaited below; if an image lookup fails first, its failure is the one reported (no unhandled rejection).
  containers.catch(() => undefined);
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
  const serving = record?.servingRevision !== undefined && record.switchedAt !== undefined ? { revision: record.servingRevision, switchedAt: record.switchedAt } : undefined;
  const observed = await containers;
  return {
    namespace,
    name,
    desired,
    containers: observed,
    route: await routeOf(routes, name, desired, serving?.revision, observed),
    retention: { history: record?.history ?? [], owned: record?.ownedTags ?? [], keep: options.keepRevisions },
    ...(image ? { image } : {}),
    ...(localTagImageId ? { localTagImageId } : {}),
    ...(latestImageId ? { latestImageId } : {}),
    ...(serving ? { serving } : {}),
    proxy: options.proxy,
    now: deps.clock.now(),
  };
}

/** For an app with a manifest, whether the proxy routes exactly to its serving revision; for one without, whether any route is left. */
async function routeOf(routes: RouteLookup, name: string, desired: Desired, serving: string | undefined, containers: readonly ContainerSummary[]): Promise<Observation['route']> {
  if (desired.kind === 'absent') {
    const held = await routes.hasRoute(name);
    return { held, current: !held };
  }
  if (serving === undefined || (await routes.isRouted(desired.app, servingEndpoints(desired.app, serving, containers)))) return { held: serving !== undefined, current: true };
  return { held: await routes.hasRoute(name), current: false };
}
