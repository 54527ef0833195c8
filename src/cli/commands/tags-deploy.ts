import { createDockerRuntime } from '../../runtime/docker/docker-runtime.js';
import { lockHolder } from '../../state/lock.js';
import { StateStore } from '../../state/store.js';
import { shortId } from '../../util/short-id.js';
import { deployOutcome } from '../../tags/deploy-outcome.js';
import { deployTag } from '../../tags/deploy.js';
import { appArguments, parseCommand, positiveInteger, sharedOptions } from '../options.js';
import type { Output } from '../output.js';

const FLAGS = {
  manifests: { type: 'string', default: 'manifests' },
  wait: { type: 'boolean', default: false },
  timeout: { type: 'string' },
} as const;

const POLL_MS = 250;

/**
 * `berth tags:deploy APP TAG`: sets `spec.tag` in the app's manifest (comments kept); the running
 * controller deploys it. With `--wait`, follows the deploy in berth's state and exits 0 once TAG
 * serves, 1 when the deploy fails or `--timeout` (default: the app's progressDeadline + 60 s) passes.
 */
export async function tagsDeployCommand(args: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommand(args, FLAGS, true);
  const shared = sharedOptions(values);
  const { namespace, stateDir } = shared;
  const { app, tag } = appArguments('tags:deploy', positionals, true);
  const before = (await StateStore.read(stateDir, namespace)).get(app);
  const result = await deployTag(createDockerRuntime(), {
    namespace,
    app,
    tag,
    manifests: values.manifests,
    allowHostPaths: shared.allowHostPaths,
  });
  const ref = `${result.app.spec.image}:${tag}`;
  const image = result.imageId ? ` (image ${shortId(result.imageId)})` : ' (in its registry; berth pulls it)';
  out.stdout(
    result.unchanged
      ? `=====> ${app} already pins ${tag} in ${result.file}\n`
      : `=====> ${app}: spec.tag ${result.previousTag} -> ${tag} in ${result.file}${image}\n`,
  );

  const controller = await lockHolder(stateDir, namespace);
  if (controller === undefined) {
    const message = `no berth run holds namespace "${namespace}" (state dir ${stateDir}); ${ref} deploys when one starts`;
    if (!values.wait) {
      out.stdout(`-----> ${message}\n`);
      return 0;
    }
    out.stderr(`berth: ${message}; nothing to wait for\n`);
    return 1;
  }
  if (!values.wait) {
    out.stdout(`-----> berth (pid ${controller}) deploys it now; berth status shows progress\n`);
    return 0;
  }

  const timeoutSeconds =
    values.timeout === undefined ? result.app.spec.deploy.progressDeadline + 60 : positiveInteger(values, 'timeout');
  out.stdout(`-----> Waiting for berth (pid ${controller}) to deploy ${ref} (up to ${timeoutSeconds}s)\n`);
  const deadline = Date.now() + timeoutSeconds * 1000;
  let lastNote = '';
  for (;;) {
    const outcome = deployOutcome((await StateStore.read(stateDir, namespace)).get(app), tag, before);
    if (outcome.done) {
      if (outcome.ok) out.stdout(`=====> Application deployed: ${app} (${ref}): ${outcome.message}\n`);
      else out.stderr(`berth: deploying ${ref} failed: ${outcome.message}\n`);
      return outcome.ok ? 0 : 1;
    }
    if (outcome.note !== lastNote) out.stdout(`       ${(lastNote = outcome.note)}\n`);
    if (Date.now() >= deadline) {
      out.stderr(
        `berth: ${ref} did not finish deploying within ${timeoutSeconds}s (last: ${outcome.note}); berth status shows where it is\n`,
      );
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
