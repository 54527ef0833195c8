/**
 * What the benchmarks that run berth share: an app's manifest written as an editor or a GitOps
 * tool would replace it, and a `berth run` of the benchmark's own.
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { BerthProcess } from '../../test/support/berth-process.js';
import type { Teardown } from './teardown.js';

/** A temporary directory for one phase (`root`, removed at `own`'s teardown) with an empty `manifests` in it. */
export async function benchRoot(own: Teardown, name: string): Promise<{ root: string; manifests: string }> {
  const root = await mkdtemp(join(tmpdir(), `berth-${name}-bench-`));
  own.add('remove the temp dir', () => rm(root, { recursive: true, force: true }));
  const manifests = join(root, 'manifests');
  await mkdir(manifests);
  return { root, manifests };
}

/** Replaces `<dir>/<app>.yaml` with a manifest of `spec` in one rename: the watcher never reads half a file. */
export async function writeAppManifest(dir: string, app: string, spec: Record<string, unknown>): Promise<void> {
  const temp = join(dir, `.${app}.yaml.tmp`);
  await writeFile(temp, dump({ apiVersion: 'berth/v1', kind: 'App', metadata: { name: app }, spec }));
  await rename(temp, join(dir, `${app}.yaml`));
}

/**
 * Starts `berth run` with `source` (`--manifests DIR` or the git flags) and `flags`, in
 * `namespace` with its state under `root`, the periodic resync an hour away (the benchmark's own
 * edits and events drive it); `own` kills it (SIGKILL) at teardown.
 */
export function startBenchBerth(
  own: Teardown,
  root: string,
  namespace: string,
  source: string[],
  flags: string[] = [],
): BerthProcess {
  const berth = new BerthProcess([
    'run',
    ...source,
    '--namespace',
    namespace,
    '--state-dir',
    join(root, 'state'),
    '--resync',
    '3600',
    ...flags,
  ]);
  own.add('stop berth', () => berth.stop('SIGKILL'));
  return berth;
}
