import { createDockerRuntime } from '../../runtime/docker/docker-runtime.js';
import { createSwarmRuntime } from '../../runtime/docker/swarm-runtime.js';
import { StateStore } from '../../state/store.js';
import { createTag } from '../../tags/create.js';
import { shortId } from '../../util/short-id.js';
import { appArguments, parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';
import { appRepository } from '../../manifest/image-ref.js';

/** `berth tags:create APP TAG`: tags the image the app runs now as `<namespace>/<app>:TAG`. */
export async function tagsCreateCommand(args: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommand(args, { force: { type: 'boolean', default: false } }, true);
  const shared = sharedOptions(values);
  const { app, tag } = appArguments('tags:create', positionals, true);
  const state = await StateStore.read(shared.stateDir, shared.namespace);
  const result = await createTag(createDockerRuntime(), {
    namespace: shared.namespace,
    app,
    tag,
    record: state.get(app),
    force: values.force,
    services: createSwarmRuntime(),
  });
  const repository = appRepository(shared.namespace, app);
  out.stdout(
    result.unchanged
      ? `=====> ${result.ref} already points at the running image ${shortId(result.imageId)}\n`
      : `=====> Added ${tag} tag to ${repository} (image ${shortId(result.imageId)})\n`,
  );
  return 0;
}
