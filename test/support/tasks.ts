/** Builders of Swarm tasks and nodes for unit tests of what status shows on Swarm. */
import type { NodeSummary, TaskSummary } from '../../src/runtime/services.js';

/** Two nodes of one swarm: a manager and a worker, each with its hostname and address. */
export const TWO_NODES: readonly NodeSummary[] = [
  { id: 'node-manager-0000000000001', addr: '10.0.0.5', hostname: 'alpha' },
  { id: 'node-worker-00000000000002', addr: '10.0.0.6', hostname: 'beta' },
];

/** A task of app `web` (unless `patch` says otherwise) running revision `h2@sha256:d2`, as the manager lists it. */
export function taskOf(patch: Partial<TaskSummary> & Pick<TaskSummary, 'id' | 'slot' | 'nodeId'>): TaskSummary {
  return {
    serviceId: 'svc',
    app: 'web',
    state: 'running',
    desiredState: 'running',
    specHash: 'h2',
    image: 'reg/web:v2@sha256:d2',
    message: '',
    error: '',
    ports: [],
    createdAt: 10_000,
    ...patch,
  };
}
