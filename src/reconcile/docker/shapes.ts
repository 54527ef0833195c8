/**
 * The two sides `berth plan` compares field by field (diff.ts): what the manifest wants and what
 * runs now. Pure: preview.ts gathers the inputs.
 */
import { imageRef } from '../../manifest/image-ref.js';
import type { ContainerDetail, ImageInfo } from '../../runtime/types.js';
import type { AppRecord } from '../../state/types.js';
import type { Observation } from './actions.js';
import type { AppShape } from '../core/diff.js';
import type { RunningRevision } from './serving.js';
import { containerEnv } from '../core/env.js';

/** What the manifest wants; undefined when the app has no manifest. */
export function desiredShape(observation: Observation): AppShape | undefined {
  if (observation.desired.kind !== 'present') return undefined;
  const { spec } = observation.desired.app;
  const imageId = observation.image?.kind === 'present' ? observation.image.id : undefined;
  return {
    image: { ref: imageRef(spec.image, spec.tag), ...(imageId ? { id: imageId } : {}) },
    env: containerEnv(spec),
    ...(spec.resolved ? { secretKeys: Object.keys(spec.resolved.env) } : {}),
    ports: spec.ports,
    replicas: spec.replicas,
  };
}

/**
 * What runs now: the running revision (serving.ts), as one of its containers (`detail`) and its
 * image show it. `image` is undefined when the engine no longer has it.
 */
export function runningShape(
  now: RunningRevision,
  detail: ContainerDetail,
  image: ImageInfo | undefined,
  record: AppRecord | undefined,
): AppShape {
  const ref = deployedRef(record, now.revision, now.serving, image?.repoTags ?? []);
  return {
    image: { ...(ref !== undefined ? { ref } : {}), id: detail.imageId },
    env: detail.env,
    ...(image?.env ? { imageEnv: image.env } : {}),
    ports: detail.requestedPorts,
    replicas: now.containers.length,
  };
}

/**
 * `repository:tag` a revision was deployed as: from berth's history of it, else (for the serving
 * revision) the serving tag among the image's tags; undefined when berth's state does not say.
 */
export function deployedRef(
  record: AppRecord | undefined,
  revision: string,
  serving: boolean,
  repoTags: readonly string[],
): string | undefined {
  const deploy = record?.history.find((h) => h.revision === revision);
  if (deploy) return imageRef(deploy.image, deploy.tag);
  const tag = serving ? record?.servingTag : undefined;
  return tag === undefined ? undefined : repoTags.find((ref) => ref.endsWith(`:${tag}`));
}
