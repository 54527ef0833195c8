/**
 * `tags:deploy`: the imperative doorway to the declarative model. It checks that the tag exists,
 * then sets `spec.tag` in the app's manifest file in place (see ../manifest/edit.ts); the running
 * controller deploys it like any other edit. Nothing is written when a check fails.
 */
import path from 'node:path';
import { setSpecTag } from '../manifest/edit.js';
import { ManifestRewriteError, rewriteManifestInPlace } from '../manifest/rewrite-in-place.js';
import { ManifestDirectory } from '../manifest/read/load.js';
import { tagProblem } from '../manifest/tag.js';
import { formatProblem, type App } from '../manifest/types.js';
import type { Runtime } from '../runtime/types.js';
import { TagCommandError } from './errors.js';
import { digestMatches, resolveLocalImage } from '../reconcile/docker/local-image.js';
import { appRepository, imageRef, tagOf } from '../manifest/image-ref.js';

interface DeployTagInput {
  namespace: string;
  app: string;
  tag: string;
  /** The watched manifest directory. */
  manifests: string;
  allowHostPaths: string[];
}

interface DeployTagResult {
  file: string;
  previousTag: string;
  /** The image id the tag resolves to on this host; undefined when only the registry has it (yet). */
  imageId?: string;
  /** The manifest already pinned this tag: nothing was written. */
  unchanged: boolean;
  app: App;
}

export async function deployTag(runtime: Runtime, input: DeployTagInput): Promise<DeployTagResult> {
  const { namespace, app: name, tag } = input;
  const invalid = tagProblem(tag);
  if (invalid !== undefined) throw new TagCommandError(invalid);
  const app = await findManifest(input);
  const { spec } = app;
  const imageId = await resolveTag(runtime, namespace, app, tag);
  if (spec.tag === tag)
    return {
      file: app.source.file,
      previousTag: tag,
      ...(imageId.local ? { imageId: imageId.local } : {}),
      unchanged: true,
      app,
    };

  // Confined: inside the manifests, through its directory held open, only if unchanged since read;
  // the file keeps its owner and mode, and the temporary name is hidden from the watcher.
  await rewriteManifestInPlace(app.source.file, path.resolve(input.manifests), (text) =>
    setSpecTag(text, app.source.file, name, tag),
  ).catch((error: unknown) => {
    if (error instanceof ManifestRewriteError) throw new TagCommandError(error.message);
    throw error;
  });
  return {
    file: app.source.file,
    previousTag: spec.tag,
    ...(imageId.local ? { imageId: imageId.local } : {}),
    unchanged: false,
    app,
  };
}

async function findManifest(input: DeployTagInput): Promise<App> {
  const { namespace, app: name } = input;
  const dir = path.resolve(input.manifests);
  const set = await new ManifestDirectory(dir, { namespace, allowHostPaths: input.allowHostPaths }).read();
  if (set.directory === 'missing' || set.directory === 'unreadable')
    throw new TagCommandError(`the manifest directory ${dir} is ${set.directory}`);
  const conflict = set.conflicts.get(name);
  if (conflict)
    throw new TagCommandError(
      `${name} is defined by several files (${conflict.join(', ')}); keep one before deploying a tag`,
    );
  const app = set.apps.get(name);
  if (app) return app;
  const problems = set.problems.filter((p) => p.app === name);
  if (set.invalid.has(name) || problems.length > 0) {
    throw new TagCommandError(
      `the manifest of ${name} is invalid; fix it first: ${problems.map(formatProblem).join('; ') || 'see berth validate'}`,
    );
  }
  throw new TagCommandError(`no manifest in ${dir} names app ${name}`);
}

/**
 * Where the tag is: on this host (as `<image>:<tag>`, or berth's kept mirror of a pull from that
 * repository) or, for a registry image, in its registry. A digest pin the tag does not satisfy
 * is refused here, before the controller would refuse it.
 */
async function resolveTag(runtime: Runtime, namespace: string, app: App, tag: string): Promise<{ local?: string }> {
  const { spec } = app;
  const ref = imageRef(spec.image, tag);
  const local = appRepository(namespace, app.name);
  const remote = spec.image !== local;
  const { found } = await resolveLocalImage(runtime, namespace, app.name, spec.image, tag);
  const pin = spec.digest;
  if (found) {
    if (pin !== undefined && !digestMatches(found, pin)) {
      throw new TagCommandError(
        `${ref} is ${[found.id, ...found.repoDigests].join(', ')}, but spec.digest pins ${pin}; change or drop the pin in ${app.source.file}`,
      );
    }
    return { local: found.id };
  }
  if (remote) {
    const published = await runtime.inspectRemoteImage(ref);
    if (published) {
      if (pin !== undefined && published.digest !== pin) {
        throw new TagCommandError(
          `${ref} is ${published.digest} in its registry, but spec.digest pins ${pin}; change or drop the pin in ${app.source.file}`,
        );
      }
      return {};
    }
  }
  const known = (await runtime.listImages(local)).flatMap((image) => image.repoTags.map(tagOf));
  const where = remote ? 'on this host nor in its registry' : 'on this host';
  const hint = known.length > 0 ? `; ${local} has ${[...new Set(known)].sort().join(', ')}` : '';
  throw new TagCommandError(`no image ${ref} ${where}${hint}`);
}
