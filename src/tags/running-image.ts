import { EngineError } from '../runtime/errors.js';
import type { ServiceRuntime } from '../runtime/services.js';
import type { ContainerSummary, Runtime } from '../runtime/types.js';
import type { AppRecord } from '../state/types.js';
import { runningRevision, type RunningRevision } from '../reconcile/docker/serving.js';
import { repositoryOf } from '../manifest/image-ref.js';

/** What the app runs now (see runningRevision), listed from the engine. */
export async function runningImage(
  runtime: Runtime,
  namespace: string,
  app: string,
  record: AppRecord | undefined,
): Promise<RunningRevision | undefined> {
  return runningRevision(await runtime.listContainers(namespace, app), record);
}

/** Every image id a running container of the app was created from (several during a rollout). */
export async function runningImageIds(
  runtime: Runtime,
  namespace: string,
  app: string,
): Promise<Map<string, ContainerSummary>> {
  const running = (await runtime.listContainers(namespace, app)).filter((c) => c.state === 'running');
  return new Map(running.map((c) => [c.imageId, c]));
}

/** The image a berth service of the app runs on Swarm: its pinned reference, and its id when this host has it. */
interface SwarmServedImage {
  /** `repo:tag@sha256:...` as the service names it. */
  ref: string;
  imageId?: string;
}

/**
 * What the app runs as a Swarm service, when the engine is a swarm manager with a berth service
 * for it; undefined on an engine in no swarm. Task containers may all run on other nodes, so the
 * answer comes from the service, not from this host's containers.
 */
export async function swarmServedImage(
  services: ServiceRuntime,
  runtime: Runtime,
  namespace: string,
  app: string,
): Promise<SwarmServedImage | undefined> {
  try {
    await services.swarm();
  } catch (error) {
    if (error instanceof EngineError) return undefined;
    throw error;
  }
  const [service] = await services.listServices(namespace, app);
  if (!service) return undefined;
  const at = service.image.indexOf('@');
  const byDigest =
    at < 0 ? service.image : `${repositoryOf(service.image.slice(0, at))}@${service.image.slice(at + 1)}`;
  const local = await runtime.inspectImage(byDigest);
  return { ref: service.image, ...(local ? { imageId: local.id } : {}) };
}
