import type { ContainerSummary, Runtime } from '../runtime/types.js';
import type { AppRecord } from '../state/types.js';
import { runningRevision, type RunningRevision } from '../reconcile/serving.js';

/** What the app runs now (see runningRevision), listed from the engine. */
export async function runningImage(runtime: Runtime, namespace: string, app: string, record: AppRecord | undefined): Promise<RunningRevision | undefined> {
  return runningRevision(await runtime.listContainers(namespace, app), record);
}

/** Every image id a running container of the app was created from (several during a rollout). */
export async function runningImageIds(runtime: Runtime, namespace: string, app: string): Promise<Map<string, ContainerSummary>> {
  const running = (await runtime.listContainers(namespace, app)).filter((c) => c.state === 'running');
  return new Map(running.map((c) => [c.imageId, c]));
}
