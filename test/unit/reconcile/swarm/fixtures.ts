/** Builders of apps, specs, services, tasks and observations for the Swarm planner's tests. */
import type { App } from '../../../../src/manifest/types.js';
import type { Desired } from '../../../../src/reconcile/core/desired.js';
import type { SwarmObservation } from '../../../../src/reconcile/swarm/actions.js';
import { serviceSpecFor } from '../../../../src/reconcile/swarm/service-spec.js';
import type { SecretSummary, ServiceSpec, ServiceSummary, TaskSummary } from '../../../../src/runtime/services.js';
import { testApp, type SpecOverrides } from '../../../support/apps.js';

export const DIGEST = `sha256:${'d'.repeat(64)}`;
export const NOW = 1_000_000;

/** `web` from a registry, two replicas behind an http check. */
export const registryApp = (tag: string, overrides: SpecOverrides = {}): App =>
  testApp('web', {
    image: '127.0.0.1:5000/team/web',
    tag,
    replicas: 2,
    checks: { wait: 0, http: [{ path: '/health', content: 'ok', port: 8080, attempts: 3, wait: 1, timeout: 2 }] },
    ...overrides,
  });

/** The app's tag as its registry pins it (one digest per tag). */
export const pinned = (app: App) => ({
  ref: `${app.spec.image}:${app.spec.tag}@${digestOf(app.spec.tag)}`,
  pinned: true,
});

export const digestOf = (tag: string) => (tag === 'v1' ? DIGEST : `sha256:${tag.padEnd(64, '0').slice(0, 64)}`);

export const specOf = (app: App): ServiceSpec => {
  const result = serviceSpecFor('dokku', app, pinned(app), 1, 10);
  if (!('spec' in result)) throw new Error(result.refused);
  return result.spec;
};

export const serviceOf = (
  spec: ServiceSpec,
  update: ServiceSummary['update'] = { state: 'completed', message: '' },
  previous?: ServiceSpec,
): ServiceSummary => ({
  id: 'svc1234567890abcdef',
  name: spec.name,
  app: 'web',
  version: 7,
  specHash: spec.labels['berth.spec-hash'] ?? '',
  serviceHash: spec.labels['berth.service-hash'] ?? '',
  image: spec.image,
  replicas: spec.replicas,
  update,
  ...(previous
    ? {
        previousSpecHash: previous.labels['berth.spec-hash'] ?? '',
        previousServiceHash: previous.labels['berth.service-hash'] ?? '',
        previousImage: previous.image,
      }
    : {}),
  labels: { ...spec.labels },
  secretNames: [...spec.secrets, ...(previous?.secrets ?? [])].map((s) => s.name),
});

export const task = (spec: ServiceSpec, slot: number, state: TaskSummary['state'] = 'running'): TaskSummary => ({
  id: `t${slot}`,
  serviceId: 'svc1234567890abcdef',
  app: 'web',
  slot,
  nodeId: 'n1',
  state,
  desiredState: 'running',
  specHash: spec.labels['berth.spec-hash'] ?? '',
  message: '',
  error: '',
  ports: [{ target: 8080, published: 30000 + slot, protocol: 'tcp' }],
  createdAt: slot,
});

export const secret = (name: string): SecretSummary => ({ id: `id-${name}`, name, app: 'web' });

export interface Seen {
  service?: ServiceSummary;
  tasks?: TaskSummary[];
  desired?: Desired;
  secrets?: SecretSummary[];
  held?: SwarmObservation['held'];
  swarmHeld?: SwarmObservation['swarmHeld'];
  route?: SwarmObservation['route'];
  now?: number;
}

/** What berth sees of `web` wanting `app` (undefined: no manifest). */
export function observe(app: App | undefined, seen: Seen = {}): SwarmObservation {
  return {
    namespace: 'dokku',
    name: 'web',
    desired: seen.desired ?? (app ? { kind: 'present', app } : { kind: 'absent' }),
    tasks: seen.tasks ?? [],
    secrets: seen.secrets ?? [],
    now: seen.now ?? NOW,
    ...(seen.service ? { service: seen.service } : {}),
    ...(seen.held ? { held: seen.held } : {}),
    ...(seen.swarmHeld ? { swarmHeld: seen.swarmHeld } : {}),
    ...(seen.route ? { route: seen.route } : {}),
    ...(app ? { wanted: serviceSpecFor('dokku', app, pinned(app), 1, 10) } : {}),
  };
}

/** The revision key the planner gives `app`'s spec. */
export const revisionOf = (app: App) => `${specOf(app).labels['berth.spec-hash']}@${digestOf(app.spec.tag)}`;
