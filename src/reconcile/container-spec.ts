import type { App } from '../manifest/types.js';
import { LABEL_APP, LABEL_MANAGED, LABEL_NAMESPACE, LABEL_REPLICA, LABEL_SPEC_HASH, type ContainerCreateSpec } from '../runtime/types.js';
import { containerName, type Revision } from './revision.js';

/** The container berth creates for one replica slot of one revision of an app. */
export function containerSpecFor(namespace: string, app: App, revision: Revision, replica: number): ContainerCreateSpec {
  const { spec } = app;
  return {
    name: containerName(namespace, app.name, revision, replica),
    image: revision.imageId,
    ...(spec.command ? { command: spec.command } : {}),
    env: spec.env,
    labels: {
      [LABEL_MANAGED]: 'true',
      [LABEL_NAMESPACE]: namespace,
      [LABEL_APP]: app.name,
      [LABEL_SPEC_HASH]: revision.specHash,
      [LABEL_REPLICA]: String(replica),
    },
    ports: spec.ports,
    volumes: spec.volumes,
    resources: spec.resources,
  };
}
