/**
 * The fence: a ServiceRuntime whose every write (services, secrets, jobs, image pushes) is refused
 * with NotLeaderError unless `leading()` says, right before the call, that this replica holds the
 * lease. Reads pass through. A second line behind the standby's plan (which sends nothing), and
 * the one that stops a leader frozen mid-reconcile: on waking, its renew deadline has passed.
 * Service updates still carry the version the plan was made from, so the swarm refuses a stale one.
 */
import type { ServiceRuntime } from '../runtime/services.js';
import { NotLeaderError } from './errors.js';

/** `inner` fenced by `leading`. */
export function fencedServices(inner: ServiceRuntime, leading: () => boolean): ServiceRuntime {
  const fence = (operation: string, object: string) => {
    if (!leading())
      throw new NotLeaderError(
        operation,
        `${operation} ${object}: refused: this berth does not hold the lease (standby)`,
      );
  };
  return {
    swarm: () => inner.swarm(),
    listServices: (namespace, app) => inner.listServices(namespace, app),
    listTasks: (namespace, app) => inner.listTasks(namespace, app),
    listNodes: () => inner.listNodes(),
    locateImage: (ref) => inner.locateImage(ref),
    listSecrets: (namespace, app) => inner.listSecrets(namespace, app),
    listJobs: (namespace, app) => inner.listJobs(namespace, app),
    jobLogs: (id, secrets) => inner.jobLogs(id, secrets),
    pushImage: async (source, target) => {
      fence('pushImage', target);
      return inner.pushImage(source, target);
    },
    createService: async (spec, secretIds) => {
      fence('createService', spec.name);
      return inner.createService(spec, secretIds);
    },
    updateService: async (id, version, spec, secretIds) => {
      fence('updateService', spec.name);
      return inner.updateService(id, version, spec, secretIds);
    },
    rollbackService: async (id, version) => {
      fence('rollbackService', id);
      return inner.rollbackService(id, version);
    },
    labelService: async (id, version, labels) => {
      fence('labelService', id);
      return inner.labelService(id, version, labels);
    },
    removeService: async (id) => {
      fence('removeService', id);
      return inner.removeService(id);
    },
    createSecret: async (secret) => {
      fence('createSecret', secret.name);
      return inner.createSecret(secret);
    },
    removeSecret: async (id) => {
      fence('removeSecret', id);
      return inner.removeSecret(id);
    },
    createJob: async (spec, secretIds) => {
      fence('createJob', spec.name);
      return inner.createJob(spec, secretIds);
    },
    removeJob: async (id) => {
      fence('removeJob', id);
      return inner.removeJob(id);
    },
  };
}
