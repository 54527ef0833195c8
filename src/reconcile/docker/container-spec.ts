import { createHash } from 'node:crypto';
import type { App, AppSpec, Hook } from '../../manifest/types.js';
import {
  LABEL_APP,
  LABEL_MANAGED,
  LABEL_NAMESPACE,
  LABEL_REPLICA,
  LABEL_REVISION,
  LABEL_ROLE,
  LABEL_SECRETS,
  LABEL_SPEC_HASH,
  type ContainerCreateSpec,
} from '../../runtime/types.js';
import { containerName, type Revision } from '../core/revision.js';
import { containerEnv } from '../core/env.js';

/**
 * Every value a log line or message must never show: env values, and the decrypted secrets (one
 * list, made where container output is read).
 */
export { secretValues } from '../../runtime/container-output.js';

/** The container berth creates for one replica slot of one revision of an app. */
export function containerSpecFor(
  namespace: string,
  app: App,
  revision: Revision,
  replica: number,
): ContainerCreateSpec {
  const { spec } = app;
  return {
    name: containerName(namespace, app.name, revision, replica),
    image: revision.imageId,
    ...(spec.command ? { command: spec.command } : {}),
    env: containerEnv(spec),
    labels: {
      [LABEL_MANAGED]: 'true',
      [LABEL_NAMESPACE]: namespace,
      [LABEL_APP]: app.name,
      [LABEL_SPEC_HASH]: revision.specHash,
      [LABEL_REPLICA]: String(replica),
      ...(spec.resolved && spec.resolved.files.length > 0 ? { [LABEL_SECRETS]: spec.resolved.digest } : {}),
    },
    ports: spec.ports,
    volumes: [...spec.volumes, ...secretMounts(spec)],
    resources: spec.resources,
  };
}

/** The `berth.role` of a release container. */
export const RELEASE_ROLE = 'release';

/**
 * The one-off container of the release step of `revision` (image `imageId`, the key's image):
 * the app's env and volumes (its secret files too), no ports, never restarted. Named after the
 * revision, one per revision: a berth restarted mid-release finds it by name and labels.
 */
export function releaseContainerSpec(
  namespace: string,
  app: App,
  revision: string,
  imageId: string,
  hook: Hook,
): ContainerCreateSpec {
  return {
    name: `${namespace}.${app.name}.release.${createHash('sha256').update(revision).digest('hex').slice(0, 10)}`,
    image: imageId,
    command: hook.command,
    env: containerEnv(app.spec),
    labels: {
      [LABEL_MANAGED]: 'true',
      [LABEL_NAMESPACE]: namespace,
      [LABEL_APP]: app.name,
      [LABEL_ROLE]: RELEASE_ROLE,
      [LABEL_REVISION]: revision,
    },
    ports: [],
    volumes: [...app.spec.volumes, ...secretMounts(app.spec)],
    resources: app.spec.resources,
    restart: false,
  };
}

/**
 * Where each decrypted secret file lies on the host (`<secrets root>/<digest>/<index>`), mounted
 * read-only at its target.
 */
export function secretMounts(spec: AppSpec): { source: string; target: string; readOnly: boolean }[] {
  const resolved = spec.resolved;
  if (!resolved || resolved.root === undefined) return [];
  return resolved.files.map((f, i) => ({
    source: `${resolved.root}/${resolved.digest}/${i}`,
    target: f.target,
    readOnly: true,
  }));
}
