import { createDockerRuntime } from '../../runtime/docker/docker-runtime.js';
import { createSwarmRuntime } from '../../runtime/docker/swarm-runtime.js';
import { StateStore } from '../../state/store.js';
import { shortId } from '../../util/short-id.js';
import { listTags } from '../../tags/list.js';
import { formatBytes, formatTable } from '../table.js';
import { timeAgo } from '../../util/age.js';
import { appArguments, parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';
import { appRepository } from '../../manifest/image-ref.js';

/** `berth tags APP`: the seed's listing of `<namespace>/<app>`, with the tag that runs now marked. */
export async function tagsListCommand(args: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommand(args, { json: { type: 'boolean', default: false } }, true);
  const shared = sharedOptions(values);
  const { app } = appArguments('tags', positionals, false);
  const state = await StateStore.read(shared.stateDir, shared.namespace);
  const rows = await listTags(createDockerRuntime(), shared.namespace, app, state.get(app), createSwarmRuntime());
  if (values.json) {
    out.stdout(
      `${JSON.stringify(
        rows.map((r) => ({ ...r, createdAt: new Date(r.createdAt).toISOString() })),
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  const repository = appRepository(shared.namespace, app);
  out.stdout(`=====> Image tags for ${repository}\n`);
  if (rows.length === 0) {
    out.stdout(`no images tagged ${repository}:* on this host\n`);
    return 0;
  }
  const now = Date.now();
  out.stdout(
    formatTable(
      ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'RUNNING'],
      rows.map((r) => [
        r.repository,
        r.tag,
        shortId(r.imageId),
        timeAgo(now, r.createdAt),
        formatBytes(r.size),
        r.running ? '*' : '',
      ]),
    ),
  );
  return 0;
}
