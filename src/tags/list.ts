import type { Runtime } from '../runtime/types.js';
import type { AppRecord } from '../state/types.js';
import { runningImage, swarmServedImage } from './running-image.js';
import type { ServiceRuntime } from '../runtime/services.js';
import { appRepository, repositoryOf, tagOf } from '../manifest/image-ref.js';

interface TagRow {
  repository: string;
  tag: string;
  /** `sha256:...` */
  imageId: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  size: number;
  /** This tag is what the app runs now. */
  running: boolean;
}

/**
 * The tags of `<namespace>/<app>`, newest image first, then by tag. The tag that runs now is the
 * one berth deployed when its state remembers it, else every tag of the running image; with
 * `services` and no task of the app on this host, the image its Swarm service pins (when here).
 */
export async function listTags(
  runtime: Runtime,
  namespace: string,
  app: string,
  record: AppRecord | undefined,
  services?: ServiceRuntime,
): Promise<TagRow[]> {
  const repository = appRepository(namespace, app);
  const [images, local] = await Promise.all([
    runtime.listImages(repository),
    runningImage(runtime, namespace, app, record),
  ]);
  const served =
    local === undefined && services ? await swarmServedImage(services, runtime, namespace, app) : undefined;
  const running = local ?? (served?.imageId !== undefined ? { imageId: served.imageId, tag: undefined } : undefined);
  const rows: TagRow[] = [];
  for (const image of images) {
    for (const ref of image.repoTags) {
      if (repositoryOf(ref) !== repository) continue;
      const tag = tagOf(ref);
      const runs =
        running !== undefined && image.id === running.imageId && (running.tag === undefined || running.tag === tag);
      rows.push({ repository, tag, imageId: image.id, createdAt: image.createdAt, size: image.size, running: runs });
    }
  }
  return rows.sort((a, b) => b.createdAt - a.createdAt || a.tag.localeCompare(b.tag));
}
