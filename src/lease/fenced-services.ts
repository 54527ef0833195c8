/**
 * The fence: a ServiceRuntime whose every write (services, secrets, jobs, image pushes) is refused
 * with NotLeaderError unless `leading()` resolves true right before the call (the elector's
 * confirm(): the renew deadline, and the lease read back as this replica's). Reads pass through. A second line behind the standby's plan (which sends nothing), and
 * the one that stops a leader frozen mid-reconcile: on waking, its renew deadline has passed.
 * Service updates still carry the version the plan was made from, so the swarm refuses a stale one.
 */
import type { ServiceRuntime } from '../runtime/services.js';
import { NotLeaderError } from './errors.js';

/** `inner` fenced by `leading`. */
export function fencedServices(inner: ServiceRuntime, leading: () => boolean | Promise<boolean>): ServiceRuntime {
  const fence = async (operation: string, object: string) => {
    if (!(await leading()))
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
      await fence('pushImage', target);
      return inner.pushImage(source, target);
    },
    createService: async (spec, secretIds) => {
      await fence('createService', spec.name);
      return inner.createService(spec, secretIds);
    },
    updateService: async (id, version, spec, secretIds) => {
      await fence('updateService', spec.name);
      return inner.updateService(id, version, spec, secretIds);
    },
    rollbackService: async (id, version) => {
      await fence('rollbackService', id);
      return inner.rollbackService(id, version);
    },
    labelService: async (id, version, labels) => {
      await fence('labelService', id);
      return inner.labelService(id, version, labels);
    },
    removeService: async (id) => {
      await fence('removeService', id);
      return inner.removeService(id);
    },
    createSecret: async (secret) => {
      await fence('createSecret', secret.name);
      return inner.createSecret(secret);
    },
    removeSecret: async (id) => {
      await fence('removeSecret', id);
      return inner.removeSecret(id);
    },
    createJob: async (spec, secretIds) => {
      await fence('createJob', spec.name);
      return inner.createJob(spec, secretIds);
    },
    removeJob: async (id) => {
      await fence('removeJob', id);
      return inner.removeJob(id);
    },
  };
}
