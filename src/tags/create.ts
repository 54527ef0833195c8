import { tagProblem } from '../manifest/tag.js';
import type { Runtime } from '../runtime/types.js';
import type { AppRecord } from '../state/types.js';
import { TagCommandError } from './errors.js';
import { runningImage, swarmServedImage } from './running-image.js';
import type { ServiceRuntime } from '../runtime/services.js';
import { shortId } from '../util/short-id.js';
import { appRepository, imageRef } from '../manifest/image-ref.js';

/** Tags berth moves itself after every deploy; a person setting them would be overruled. */
const RESERVED_TAGS: readonly string[] = ['latest', 'previous'];

interface CreateTagResult {
  ref: string;
  imageId: string;
  /** The tag already pointed at the running image: nothing changed. */
  unchanged: boolean;
}

/**
 * Points `<namespace>/<app>:<tag>` at the image the app runs now: on this host, or (with
 * `input.services`, no task of it here) as its Swarm service pins it. An existing tag on another
 * image is moved only with `force`: a moved tag is a different revision to anyone deploying it.
 */
export async function createTag(
  runtime: Runtime,
  input: {
    namespace: string;
    app: string;
    tag: string;
    record: AppRecord | undefined;
    force: boolean;
    services?: ServiceRuntime;
  },
): Promise<CreateTagResult> {
  const { namespace, app, tag } = input;
  const invalid = tagProblem(tag);
  if (invalid !== undefined) throw new TagCommandError(invalid);
  if (RESERVED_TAGS.includes(tag))
    throw new TagCommandError(`"${tag}" is moved by berth after every deploy; pick another tag`);
  const repository = appRepository(namespace, app);
  const ref = imageRef(repository, tag);
  const imageId =
    (await runningImage(runtime, namespace, app, input.record))?.imageId ??
    (await servedBySwarm(runtime, input.services, namespace, app));
  const existing = await runtime.inspectImage(ref);
  if (existing?.id === imageId) return { ref, imageId, unchanged: true };
  if (existing && !input.force) {
    throw new TagCommandError(
      `${ref} already exists on image ${shortId(existing.id)}, not the running ${shortId(imageId)}; pass --force to move it`,
    );
  }
  await runtime.tagImage(imageId, repository, tag);
  return { ref, imageId, unchanged: false };
}

/** The local id of the image the app's Swarm service runs when no task of it runs on this host. */
async function servedBySwarm(
  runtime: Runtime,
  services: ServiceRuntime | undefined,
  namespace: string,
  app: string,
): Promise<string> {
  const served = services && (await swarmServedImage(services, runtime, namespace, app));
  if (!served)
    throw new TagCommandError(
      `${app} runs no container in namespace "${namespace}"; tags:create tags the image that runs now`,
    );
  if (served.imageId === undefined)
    throw new TagCommandError(
      `${app} runs on Swarm as ${served.ref}, and this host has no copy of that image: docker pull ${served.ref}, then tags:create again`,
    );
  return served.imageId;
}
