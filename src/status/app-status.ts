/**
 * What berth reports about an app (`status --json`, `/api/apps`, the status page): berth's
 * recorded state beside the containers Docker runs now. Pure: the caller lists the containers.
 */
import type { ContainerSummary } from '../runtime/types.js';
import type { AppRecord, CertificateRecord, DeployRecord, EngineRecord } from '../state/types.js';
import type { Commit } from '../source/types.js';
import { shortId } from '../util/short-id.js';
import { runningRevision } from '../reconcile/docker/serving.js';

export interface AppStatus {
  app: string;
  desiredImage: string | null;
  desiredTag: string | null;
  running: { tag: string | null; imageId: string | null; containers: { id: string; name: string; state: string }[] };
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

/** The state a status is made from; `containers` is undefined when the engine could not be asked. */
interface StatusSources {
  state: { names(): string[]; get(name: string): AppRecord | undefined; certificates?(): CertificateRecord[] };
  containers: ContainerSummary[] | undefined;
}

export function appStatuses(sources: StatusSources): AppStatus[] {
  const containers = sources.containers ?? [];
  const names = [...new Set([...sources.state.names(), ...containers.map((c) => c.app)])].sort();
  const certificates = sources.state.certificates?.() ?? [];
  return names.map((name) =>
    appStatus(
      name,
      sources.state.get(name),
      containers.filter((c) => c.app === name),
      sources.containers !== undefined,
      certificates.filter((c) => c.app === name),
    ),
  );
}

export function appStatus(
  name: string,
  record: AppRecord | undefined,
  containers: ContainerSummary[],
  engineKnown = true,
  certificates: CertificateRecord[] = [],
): AppStatus {
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
    running: { tag, imageId, containers: containers.map((c) => ({ id: shortId(c.id), name: c.name, state: c.state })) },
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
              message: `${running.length} container(s) running`,
              lastTransitionTime: since,
            }
          : {
              type: 'Available',
              status: 'False',
              reason: 'NoContainerRunning',
              message: 'no container of the app is running',
              lastTransitionTime: since,
            }
        : {
            type: 'Available',
            status: 'Unknown',
            reason: 'EngineUnreachable',
            message: 'the Docker engine could not be asked',
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

/** What runs, for people: the serving tag, else the short image id, else `none`. */
export function runningLabel(status: AppStatus, none: string): string {
  return status.running.tag ?? (status.running.imageId ? shortId(status.running.imageId) : none);
}

/** One line about an engine outage the controller recorded, or undefined when it reaches the engine. */
export function engineOutage(engine: EngineRecord | undefined): string | undefined {
  if (!engine || engine.reachable) return undefined;
  return `the controller has not reached the Docker engine since ${new Date(engine.since).toISOString()} (${engine.error ?? 'unknown error'}); it reconnects with backoff`;
}
