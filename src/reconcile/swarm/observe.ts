/**
 * What the Swarm planner is given: one listing of the swarm (services, tasks, secrets, nodes) for
 * an app or a whole namespace, and the app's observation built from it, its image located (the
 * registry's digest, else this host's copy), the proxy's route and the hold read: berth's record,
 * and the swarm's own (hold.ts).
 */
import { appRepository, imageRef, repositoryOf } from '../../manifest/image-ref.js';
import type { App } from '../../manifest/types.js';
import { directTraffic } from '../../proxy/direct.js';
import type { TrafficRouter } from '../../proxy/types.js';
import type {
  ImageLocation,
  JobSummary,
  SecretSummary,
  ServiceRuntime,
  ServiceSummary,
  TaskSummary,
} from '../../runtime/services.js';
import type { StateStore } from '../../state/store.js';
import type { AppRecord } from '../../state/types.js';
import { parseRevisionKey } from '../core/revision.js';
import type { Clock } from '../../util/clock.js';
import type { Desired } from '../core/desired.js';
import type { SwarmObservation } from './actions.js';
import { taskEndpoints } from './endpoints.js';
import { heldBySwarm } from './hold.js';
import { desiredRef, serviceSpecFor } from './service-spec.js';

export interface SwarmObserveDeps {
  services: ServiceRuntime;
  /** The proxy (directTraffic when none: then no node is listed and no route read). */
  traffic: TrafficRouter;
  state: StateStore;
  clock: Clock;
  desired(name: string): Desired;
  /** Whether `berth retry` released the app since its last send: the swarm's hold is passed over then. */
  retried?(name: string): boolean;
}

export interface SwarmObserveOptions {
  namespace: string;
  /** `--swarm-registry`: where images only this host has are pushed, so every node can pull them. */
  registry?: string;
  stopTimeoutSeconds: number;
}

/** One look at the swarm, for one app or a namespace. */
export interface SwarmListing {
  services: ServiceSummary[];
  tasks: TaskSummary[];
  secrets: SecretSummary[];
  /** How many nodes the swarm has (an image only this host has cannot reach the others). */
  nodeCount: number;
  /** The nodes' addresses (none are listed without a proxy). */
  nodes: { id: string; addr: string }[];
  /** The jobs berth made (release steps, post-deploy commands); none when not listed. */
  jobs?: JobSummary[];
}

/** Lists the namespace's services, tasks and secrets (of `app` alone when given), and the swarm's nodes. */
export async function listSwarm(deps: SwarmObserveDeps, namespace: string, app?: string): Promise<SwarmListing> {
  const { services } = deps;
  const [listed, tasks, secrets, swarm, nodes, jobs] = await Promise.all([
    services.listServices(namespace, app),
    services.listTasks(namespace, app),
    services.listSecrets(namespace, app),
    services.swarm(),
    deps.traffic === directTraffic ? Promise.resolve([]) : services.listNodes(),
    services.listJobs(namespace, app),
  ]);
  return { services: listed, tasks, secrets, nodeCount: swarm.nodes, nodes, jobs };
}

/** The part of a namespace's listing that is `app`'s. */
export function listingOf(listing: SwarmListing, app: string): SwarmListing {
  return {
    ...listing,
    services: listing.services.filter((s) => s.app === app),
    tasks: listing.tasks.filter((t) => t.app === app),
    secrets: listing.secrets.filter((s) => s.app === app),
    ...(listing.jobs ? { jobs: listing.jobs.filter((j) => j.app === app) } : {}),
  };
}

/**
 * What the planner needs of one app, from its `listing`. `locate` says where an image is; with
 * `--swarm-registry`, an image of the app's own repository that only this host has is deployed
 * from `<registry>/<namespace>/<app>:<tag>`, pushed first unless the registry has these very
 * bytes already.
 */
export async function observeService(
  deps: SwarmObserveDeps,
  options: SwarmObserveOptions,
  name: string,
  listing: SwarmListing,
  locate: (ref: string) => Promise<ImageLocation>,
): Promise<SwarmObservation> {
  const { namespace, registry } = options;
  const desired = deps.desired(name);
  const app: App | undefined = desired.kind === 'present' ? desired.app : undefined;
  const [service] = listing.services;
  const held = deps.state.get(name)?.held;
  const swarmHeld = service && !deps.retried?.(name) ? heldBySwarm(service, listing.tasks) : undefined;
  const route = await routeOf(deps.traffic, name, app, listing);
  const base: SwarmObservation = {
    namespace,
    name,
    desired,
    tasks: listing.tasks,
    secrets: listing.secrets,
    ...(listing.jobs ? { jobs: listing.jobs } : {}),
    released: deps.state.get(name)?.released ?? [],
    now: deps.clock.now(),
    ...(service ? { service } : {}),
    ...(route ? { route } : {}),
    ...(held
      ? {
          held: {
            revision: held.revision,
            reason: held.reason,
            ...(held.serviceHash !== undefined ? { serviceHash: held.serviceHash } : {}),
          },
        }
      : {}),
    ...(swarmHeld ? { swarmHeld } : {}),
  };
  if (!app) return base;
  const ref = desiredRef(namespace, app);
  const spec = (image: { ref: string; pinned: boolean }): SwarmObservation => ({
    ...base,
    wanted: serviceSpecFor(namespace, app, image, listing.nodeCount, options.stopTimeoutSeconds),
  });
  const found = await locate(ref);
  if (found.where === 'registry') return spec({ ref: found.pinned, pinned: true });
  if (found.where === 'nowhere') return { ...base, imageMissing: true };
  if (registry === undefined || app.spec.image !== appRepository(namespace, app.name))
    return spec({ ref, pinned: false });
  const target = `${registry}/${ref}`;
  const published = await locate(target);
  const digest = published.where === 'registry' ? published.pinned.slice(published.pinned.indexOf('@') + 1) : undefined;
  if (digest !== undefined && found.repoDigests.includes(`${repositoryOf(target)}@${digest}`))
    return spec({ ref: `${target}@${digest}`, pinned: true });
  return { ...base, publish: { source: ref, target } };
}

/**
 * Where a resync takes an image to be: where the service pins it, or the revision berth holds
 * (`held`: its reference and digest). A resync resolves no digest and pushes nothing; a tag moved
 * in its registry is found by the next reconcile.
 */
export function pinnedBy(
  service: ServiceSummary | undefined,
  held?: { ref: string; digest: string },
): (ref: string) => Promise<ImageLocation> {
  return async (ref) => {
    if (service?.image.startsWith(`${ref}@`)) return { where: 'registry', pinned: service.image };
    if (held?.ref === ref) return { where: 'registry', pinned: `${ref}@${held.digest}` };
    const at = service?.image.indexOf('@') ?? -1;
    return {
      where: 'local',
      repoDigests: service && at > 0 ? [`${repositoryOf(service.image.slice(0, at))}${service.image.slice(at)}`] : [],
    };
  };
}

/** The reference and digest of the revision `record` holds, as its deploy history names it. */
export function heldImage(record: AppRecord | undefined): { ref: string; digest: string } | undefined {
  const held = record?.held;
  const deploy = held && record.history.find((h) => h.revision === held.revision);
  if (!held || !deploy) return undefined;
  return { ref: imageRef(deploy.image, deploy.tag), digest: parseRevisionKey(held.revision).imageId };
}

/** With a proxy: whether it routes the app, and to exactly its running tasks. */
async function routeOf(
  traffic: TrafficRouter,
  name: string,
  app: App | undefined,
  listing: SwarmListing,
): Promise<SwarmObservation['route']> {
  if (traffic === directTraffic) return undefined;
  if (!app) return { held: await traffic.hasRoute(name), current: true, endpoints: [] };
  const endpoints = taskEndpoints(app, listing.tasks, listing.nodes, { starting: false });
  return { held: await traffic.hasRoute(name), current: await traffic.isRouted(app, endpoints), endpoints };
}
