import type { ContainerSummary, Runtime } from '../runtime/types.js';
import type { StateStore } from '../state/store.js';
import type { Clock } from '../util/clock.js';
import type { Desired, ImageState, Observation } from './actions.js';
import { resolveLocalImage, type ImageSource } from './local-image.js';
import { appRepository, imageRef } from '../manifest/image-ref.js';

export interface ObserveDeps {
  runtime: Runtime;
  clock: Clock;
  state: StateStore;
  desired(name: string): Desired;
}

export interface ObserveOptions {
  namespace: string;
  proxy: boolean;
}

/**
 * Gathers what the planner needs about one app from the engine: its containers, its image, its
 * serving revision. The engine calls (a container list, up to three image inspects) run
 * concurrently: a reaction waits for one round trip, not four.
 */
export async function observeApp(deps: ObserveDeps, options: ObserveOptions, name: string): Promise<Observation> {
  return observeWith(deps, options, name, deps.runtime.listContainers(options.namespace, name), deps.runtime);
}

/**
 * The observation of `name` from its containers (known, or still being listed) and an image
 * source (a resync's snapshot, or the engine itself); also reads the app's desired state and record.
 */
export async function observeWith(
  deps: Omit<ObserveDeps, 'runtime'>,
  options: ObserveOptions,
  name: string,
  listed: ContainerSummary[] | Promise<ContainerSummary[]>,
  images: ImageSource,
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
  return {
    namespace,
    name,
    desired,
    containers: await containers,
    ...(image ? { image } : {}),
    ...(localTagImageId ? { localTagImageId } : {}),
    ...(latestImageId ? { latestImageId } : {}),
    ...(serving ? { serving } : {}),
    proxy: options.proxy,
    now: deps.clock.now(),
  };
}
