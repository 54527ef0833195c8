/** Builders of normalized apps and managed containers for unit tests. */
import type { App, AppSpec } from '../../src/manifest/types.js';
import { containerSpecFor } from '../../src/reconcile/docker/container-spec.js';
import { specHash, type Revision } from '../../src/reconcile/core/revision.js';
import type { ContainerState, ContainerSummary } from '../../src/runtime/types.js';

export type SpecOverrides = Partial<Omit<AppSpec, 'checks' | 'deploy'>> & {
  checks?: Partial<AppSpec['checks']>;
  deploy?: Partial<AppSpec['deploy']>;
};

export function testApp(name: string, overrides: SpecOverrides = {}, namespace = 'dokku'): App {
  const { checks, deploy, ...rest } = overrides;
  return {
    name,
    source: { file: `/manifests/${name}.yaml`, line: 1, col: 1 },
    spec: {
      image: `${namespace}/${name}`,
      tag: 'v1',
      env: {},
      envFrom: [],
      secrets: [],
      ports: [{ container: 8080, hostIp: '127.0.0.1', protocol: 'tcp' }],
      volumes: [],
      replicas: 1,
      resources: {},
      domains: [],
      ...rest,
      checks: { wait: 10, http: [], exec: [], ...checks },
      deploy: {
        strategy: 'zero-downtime',
        strategyExplicit: false,
        retireAfter: 60,
        progressDeadline: 600,
        monitor: deploy?.retireAfter ?? 60,
        ...deploy,
      },
    },
  };
}

export function revisionOf(app: App, imageId: string): Revision {
  return { specHash: specHash(app.spec), imageId };
}

let sequence = 0;

/** A managed container of `app` at `imageId`, as a list call would report it. */
export function containerOf(
  app: App,
  imageId: string,
  options: { replica?: number; state?: ContainerState; createdAt?: number; namespace?: string } = {},
): ContainerSummary {
  const namespace = options.namespace ?? 'dokku';
  const replica = options.replica ?? 0;
  const spec = containerSpecFor(namespace, app, revisionOf(app, imageId), replica);
  sequence++;
  return {
    id: `c${String(sequence).padStart(11, '0')}`,
    name: spec.name,
    app: app.name,
    specHash: specHash(app.spec),
    replica,
    imageId,
    state: options.state ?? 'running',
    labels: spec.labels,
    createdAt: options.createdAt ?? 1_000 + sequence,
    ports: [],
  };
}
