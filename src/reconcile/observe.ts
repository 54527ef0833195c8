import type { Runtime } from '../runtime/types.js';
import type { StateStore } from '../state/store.js';
import type { Clock } from '../util/clock.js';
import type { Desired, ImageState, Observation } from './actions.js';
import { resolveLocalImage } from './local-image.js';

/** Gathers what the planner needs about one app: its desired state, its containers, its image, its serving revision. */
export async function observeApp(
  deps: { runtime: Runtime; clock: Clock; state: StateStore; desired(name: string): Desired },
  options: { namespace: string; proxy: boolean },
  name: string,
): Promise<Observation> {
  const { runtime, state, clock } = deps;
  const { namespace } = options;
  const desired = deps.desired(name);
  const containers = await runtime.listContainers(namespace, name);
  let image: ImageState | undefined;
  let localTagImageId: string | undefined;
  let latestImageId: string | undefined;
  if (desired.kind === 'present') {
    const { spec } = desired.app;
    const { found, mirror } = await resolveLocalImage(runtime, namespace, name, spec.image, spec.tag);
    image = found ? { kind: 'present', id: found.id, repoDigests: found.repoDigests } : { kind: 'missing' };
    if (mirror) localTagImageId = mirror.id;
    latestImageId = (await runtime.inspectImage(`${namespace}/${name}:latest`))?.id;
  }
  const record = state.get(name);
  const serving = record?.servingRevision !== undefined && record.switchedAt !== undefined ? { revision: record.servingRevision, switchedAt: record.switchedAt } : undefined;
  return {
    namespace,
    name,
    desired,
    containers,
    ...(image ? { image } : {}),
    ...(localTagImageId ? { localTagImageId } : {}),
    ...(latestImageId ? { latestImageId } : {}),
    ...(serving ? { serving } : {}),
    proxy: options.proxy,
    now: clock.now(),
  };
}
