import type { Runtime } from '../runtime/types.js';
import type { StateStore } from '../state/store.js';
import type { Clock } from '../util/clock.js';
import type { Desired, ImageState, Observation } from './actions.js';

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
    const remote = spec.image !== `${namespace}/${name}`;
    const found = await runtime.inspectImage(`${spec.image}:${spec.tag}`);
    const mirror = remote ? await runtime.inspectImage(`${namespace}/${name}:${spec.tag}`) : undefined;
    // A kept mirror of a pull from this very repository stands in for a pulled tag someone removed.
    const resolved = found ?? (mirror?.repoDigests.some((d) => d.startsWith(`${spec.image}@`)) ? mirror : undefined);
    image = resolved ? { kind: 'present', id: resolved.id, repoDigests: resolved.repoDigests } : { kind: 'missing' };
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
