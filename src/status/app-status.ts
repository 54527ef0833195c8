/**
 * What berth reports about an app (`status --json`, `/api/apps`, the status page): berth's
 * recorded state beside what runs now: the containers of one engine, or on Swarm the tasks of the
 * manager's task list on every node. Pure: the caller lists the containers or the tasks.
 */
import type { ContainerSummary } from '../runtime/types.js';
import {
  containerReplicas,
  type ReplicaStatus,
  runningTaskContainers,
  type SwarmTasks,
  taskReplicas,
} from './replicas.js';
import type { AppRecord, CertificateRecord, DeployRecord, EngineRecord, ImagePolicyRecord } from '../state/types.js';
import type { Commit } from '../source/types.js';
import { shortId } from '../util/short-id.js';
import { runningRevision } from '../reconcile/docker/serving.js';

export interface AppStatus {
  app: string;
  desiredImage: string | null;
  desiredTag: string | null;
  /** On Swarm, `containers` are the current tasks (every node), `imageId` the digest the running revision names. */
  running: { tag: string | null; imageId: string | null; containers: { id: string; name: string; state: string }[] };
  /** Where `running` and `replicas` were read: this engine's containers (`docker`), or the swarm manager's task list (`swarm`). */
  runtime: 'docker' | 'swarm';
  /** Each replica: on Swarm each current task with its node, state, revision and error; on one host each container. */
  replicas: ReplicaStatus[];
  phase: string;
  message: string;
  lastError: string | null;
  /** When the phase last changed (ISO 8601). */
  since: string | null;
  lastDeployAt: string | null;
  conditions: Condition[];
  /** Newest first. */
  history: DeployRecord[];
  /** Each of the app's domains' certificates, when berth serves HTTPS. */
  certificates: CertificateStatus[];
  /** The commit of the tree the serving revision's manifest was read from, when berth follows a git repository. */
  commit: Commit | null;
  /** The commit that last changed the app's manifest file before that deploy (null when berth has not seen it change). */
  changedBy: Commit | null;
  /** The app's spec.imagePolicy as berth last looked (null without one, or before the first look). */
  imagePolicy: ImagePolicyStatus | null;
  /** The canary under way (deploy.canary), null when none runs. */
  canary: CanaryStatus | null;
}

/** A canary under way, as `status --json`, `/api/apps` and the page show it. */
export interface CanaryStatus {
  /** The new revision's key. */
  revision: string;
  /** 1-based. */
  step: number;
  /** Percent of requests the new revision gets now. */
  percent: number;
  /** ISO 8601: when the canary and its current step began. */
  startedAt: string;
  stepStartedAt: string;
  /** The last judgement in words ("10%: 12 of 50 requests"), null before the first. */
  reason: string | null;
  /** The new revision's numbers at the last judgement (requests, errors, errorRate in percent, p95Ms). */
  numbers: { requests: number; errors: number; errorRate: number; p95Ms?: number } | null;
}

/** Image automation for one app, as `status --json`, `/api/apps` and the page show it. */
export interface ImagePolicyStatus {
  /** The policy as people read it (`semver ^1`). */
  policy: string;
  /** The newest tag the policy matches, at the last look. */
  newest: string | null;
  /** Why the tag stays where it is, when it does. */
  waiting: string | null;
  /** After a person moved the tag back: only a newer tag than this one is adopted. */
  floor: string | null;
  /** ISO 8601. */
  lastLookAt: string | null;
  error: string | null;
  /** The last tag berth wrote, where, and when (ISO 8601). */
  written: { from: string; to: string; at: string; file?: string; branch?: string; commit?: string } | null;
}

interface CertificateStatus {
  domain: string;
  state: CertificateRecord['state'];
  issuer: string | null;
  /** ISO 8601. */
  notAfter: string | null;
  error: string | null;
  /** When the next order or renewal is due (ISO 8601). */
  nextAttempt: string | null;
}

/** Kubernetes-style conditions, derived from the phase and the containers. */
interface Condition {
  type: 'Available' | 'Progressing' | 'UpToDate';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string | null;
}

/**
 * The state a status is made from: on one host the namespace's containers, on Swarm (`runtime:
 * 'swarm'`) the manager's tasks and the nodes; either is undefined when the engine could not be asked.
 */
type StatusSources = {
  state: { names(): string[]; get(name: string): AppRecord | undefined; certificates?(): CertificateRecord[] };
} & (
  | { runtime?: 'docker'; containers: ContainerSummary[] | undefined }
  | { runtime: 'swarm'; tasks: SwarmTasks | undefined }
);

/** Every app berth has a record of or finds running, by name. */
export function appStatuses(sources: StatusSources): AppStatus[] {
  const swarm = sources.runtime === 'swarm' ? sources.tasks : undefined;
  const containers = sources.runtime === 'swarm' ? [] : (sources.containers ?? []);
  const known = sources.runtime === 'swarm' ? sources.tasks !== undefined : sources.containers !== undefined;
  const seen = swarm ? swarm.tasks.filter((t) => t.app !== '').map((t) => t.app) : containers.map((c) => c.app);
  const names = [...new Set([...sources.state.names(), ...seen])].sort();
  const certificates = sources.state.certificates?.() ?? [];
  return names.map((name) =>
    appStatus(
      name,
      sources.state.get(name),
      sources.runtime === 'swarm'
        ? { tasks: swarm?.tasks.filter((t) => t.app === name) ?? [], nodes: swarm?.nodes ?? [] }
        : containers.filter((c) => c.app === name),
      known,
      certificates.filter((c) => c.app === name),
    ),
  );
}

/**
 * One app's status. `observed`: its containers on one host, or on Swarm its tasks (every state the
 * manager reports) and the swarm's nodes; `engineKnown` false when they could not be asked.
 */
export function appStatus(
  name: string,
  record: AppRecord | undefined,
  observed: readonly ContainerSummary[] | SwarmTasks,
  engineKnown = true,
  certificates: CertificateRecord[] = [],
): AppStatus {
  const swarm = isSwarmTasks(observed) ? observed : undefined;
  const containers = swarm ? runningTaskContainers(swarm.tasks) : (observed as readonly ContainerSummary[]);
  const replicas = swarm ? taskReplicas(swarm, record) : containerReplicas(containers, record);
  const running = containers.filter((c) => c.state === 'running');
  const now = runningRevision(containers, record);
  const imageId = now?.imageId ?? null;
  const tag = now?.tag ?? null;
  const lastDeploy = record?.history.find((h) => h.outcome === 'succeeded');
  const serving = record?.history.find((h) => h.outcome === 'succeeded' && h.revision === record.servingRevision);
  const phase = record?.phase ?? (running.length > 0 ? 'Running' : 'Failed');
  const since = record ? new Date(record.since).toISOString() : null;
  const desiredTag = record?.desiredTag ?? null;
  return {
    app: name,
    desiredImage: record?.desiredImage ?? null,
    desiredTag,
    running: {
      tag,
      imageId,
      containers: swarm
        ? replicas.map((r) => ({ id: r.id, name: r.name, state: r.state }))
        : containers.map((c) => ({ id: shortId(c.id), name: c.name, state: c.state })),
    },
    runtime: swarm ? 'swarm' : 'docker',
    replicas,
    phase,
    message: record?.message ?? 'no state recorded (berth has not reconciled this app yet)',
    lastError: record?.lastError ?? null,
    since,
    lastDeployAt: lastDeploy ? new Date(lastDeploy.at).toISOString() : null,
    conditions: [
      engineKnown
        ? running.length > 0
          ? {
              type: 'Available',
              status: 'True',
              reason: 'ContainersRunning',
              message: swarm
                ? `${running.length} task(s) running on ${new Set(replicas.filter((r) => r.state === 'running').map((r) => r.node?.id)).size} node(s)`
                : `${running.length} container(s) running`,
              lastTransitionTime: since,
            }
          : {
              type: 'Available',
              status: 'False',
              reason: 'NoContainerRunning',
              message: swarm ? 'no task of the app is running on any node' : 'no container of the app is running',
              lastTransitionTime: since,
            }
        : {
            type: 'Available',
            status: 'Unknown',
            reason: 'EngineUnreachable',
            message: swarm
              ? 'the swarm manager could not be asked for its tasks'
              : 'the Docker engine could not be asked',
            lastTransitionTime: null,
          },
      phase === 'Deploying'
        ? {
            type: 'Progressing',
            status: 'True',
            reason: 'Deploying',
            message: record?.message ?? '',
            lastTransitionTime: since,
          }
        : { type: 'Progressing', status: 'False', reason: phase, message: '', lastTransitionTime: since },
      phase === 'Running' && tag !== null && tag === desiredTag
        ? {
            type: 'UpToDate',
            status: 'True',
            reason: 'DesiredTagServing',
            message: `${desiredTag} serves`,
            lastTransitionTime: since,
          }
        : {
            type: 'UpToDate',
            status: 'False',
            reason: phase,
            message: record?.lastError ?? record?.message ?? '',
            lastTransitionTime: since,
          },
    ],
    history: record?.history ?? [],
    commit: serving?.commit ?? null,
    changedBy: serving?.changedBy ?? null,
    imagePolicy: record?.imagePolicy ? imagePolicyStatus(record.imagePolicy) : null,
    canary: record?.canary
      ? {
          revision: record.canary.revision,
          step: record.canary.step + 1,
          percent: record.canary.percent,
          startedAt: new Date(record.canary.startedAt).toISOString(),
          stepStartedAt: new Date(record.canary.stepStartedAt).toISOString(),
          reason: record.canary.reason ?? null,
          numbers: record.canary.numbers ?? null,
        }
      : null,
    certificates: certificates.map((c) => ({
      domain: c.domain,
      state: c.state,
      issuer: c.issuer ?? null,
      notAfter: c.notAfter !== undefined ? new Date(c.notAfter).toISOString() : null,
      error: c.error ?? null,
      nextAttempt: c.nextAttempt !== undefined ? new Date(c.nextAttempt).toISOString() : null,
    })),
  };
}

function imagePolicyStatus(record: ImagePolicyRecord): ImagePolicyStatus {
  const iso = (ms: number | undefined) => (ms !== undefined ? new Date(ms).toISOString() : null);
  return {
    policy: record.policy,
    newest: record.newest ?? null,
    waiting: record.waiting ?? null,
    floor: record.floor ?? null,
    lastLookAt: iso(record.lastLookAt),
    error: record.error ?? null,
    written: record.written ? { ...record.written, at: new Date(record.written.at).toISOString() } : null,
  };
}

function isSwarmTasks(observed: readonly ContainerSummary[] | SwarmTasks): observed is SwarmTasks {
  return !Array.isArray(observed);
}

/** What runs, for people: the serving tag, else the short image id, else `none`. */
export function runningLabel(status: AppStatus, none: string): string {
  return status.running.tag ?? (status.running.imageId ? shortId(status.running.imageId) : none);
}

/** One line about an engine outage the controller recorded, or undefined when it reaches the engine. */
export function engineOutage(engine: EngineRecord | undefined): string | undefined {
  if (!engine || engine.reachable) return undefined;
  return `the controller has not reached the Docker engine since ${new Date(engine.since).toISOString()} (${engine.error ?? 'unknown error'}); it reconnects with backoff`;
}
