import { tagProblem } from '../manifest/tag.js';
import type { Runtime } from '../runtime/types.js';
import type { AppRecord } from '../state/types.js';
import { shortId } from '../util/short-id.js';
import { TagCommandError } from './errors.js';
import { runningImageIds } from './running-image.js';

/**
 * Removes `<namespace>/<app>:<tag>`. Refuses `latest`, the tag the manifest pins (a restart or a
 * new replica would need it) and the tag that runs now; other tags of the running image may go.
 * Without berth's state to say which tag runs, every tag of a running image is refused.
 */
export async function destroyTag(
  runtime: Runtime,
  input: { namespace: string; app: string; tag: string; record: AppRecord | undefined },
): Promise<{ ref: string; imageId: string }> {
  const { namespace, app, tag } = input;
  const invalid = tagProblem(tag);
  if (invalid !== undefined) throw new TagCommandError(invalid);
  const ref = `${namespace}/${app}:${tag}`;
  if (tag === 'latest')
    throw new TagCommandError(
      `refusing to remove ${ref}: latest points at the deployed image (berth moves it on every deploy)`,
    );
  const image = await runtime.inspectImage(ref);
  if (!image) throw new TagCommandError(`no tag ${ref} on this host (berth tags ${app} lists them)`);
  const { record } = input;
  if (record?.desiredTag === tag)
    throw new TagCommandError(`refusing to remove ${ref}: the manifest of ${app} pins it; deploy another tag first`);
  const user = (await runningImageIds(runtime, namespace, app)).get(image.id);
  if (user && (record?.servingTag === undefined || record.servingTag === tag))
    throw new TagCommandError(
      `refusing to remove ${ref}: ${app} runs it now (container ${user.name}, image ${shortId(image.id)}); deploy another tag first`,
    );
  await runtime.untagImage(ref);
  return { ref, imageId: image.id };
}
