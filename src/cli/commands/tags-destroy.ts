import { createDockerRuntime } from '../../runtime/docker/docker-runtime.js';
import { StateStore } from '../../state/store.js';
import { shortId } from '../../util/short-id.js';
import { destroyTag } from '../../tags/destroy.js';
import { appArguments, parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';
import { appRepository } from '../../manifest/image-ref.js';

/** `berth tags:destroy APP TAG`: removes the tag; refuses `latest` and the tag that runs. */
export async function tagsDestroyCommand(args: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommand(args, {}, true);
  const shared = sharedOptions(values);
  const { app, tag } = appArguments('tags:destroy', positionals, true);
  const state = await StateStore.read(shared.stateDir, shared.namespace);
  const result = await destroyTag(createDockerRuntime(), {
    namespace: shared.namespace,
    app,
    tag,
    record: state.get(app),
  });
  out.stdout(
    `=====> Removed ${tag} tag from ${appRepository(shared.namespace, app)} (image ${shortId(result.imageId)})\n`,
  );
  return 0;
}
