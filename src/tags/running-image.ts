import type { ContainerSummary, Runtime } from '../runtime/types.js';
import type { AppRecord } from '../state/types.js';

export interface RunningImage {
  imageId: string;
  /** The app's running containers created from it. */
  containers: ContainerSummary[];
  /** The tag berth deployed it as, when berth's state remembers it. */
  tag?: string;
}

/**
 * The image an app runs now: the revision that serves per berth's state when one of its
 * containers runs, else the newest running container's image; undefined when nothing runs.
 */
export async function runningImage(runtime: Runtime, namespace: string, app: string, record: AppRecord | undefined): Promise<RunningImage | undefined> {
  const running = (await runtime.listContainers(namespace, app)).filter((c) => c.state === 'running').sort((a, b) => b.createdAt - a.createdAt);
  const serving = running.find((c) => c.imageId === record?.servingImageId);
  const imageId = (serving ?? running[0])?.imageId;
  if (imageId === undefined) return undefined;
  const tag = serving && record?.servingTag !== undefined ? record.servingTag : undefined;
  return { imageId, containers: running.filter((c) => c.imageId === imageId), ...(tag !== undefined ? { tag } : {}) };
}

/** Every image id a running container of the app was created from (several during a rollout). */
export async function runningImageIds(runtime: Runtime, namespace: string, app: string): Promise<Map<string, ContainerSummary>> {
  const running = (await runtime.listContainers(namespace, app)).filter((c) => c.state === 'running');
  return new Map(running.map((c) => [c.imageId, c]));
}
