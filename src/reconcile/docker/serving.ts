/** What serves an app now, worked out from its containers and berth's record. Pure. */
import type { App } from '../../manifest/types.js';
import type { ContainerSummary } from '../../runtime/types.js';
import { loopbackPort } from '../../runtime/loopback.js';
import type { AppRecord } from '../../state/types.js';
import { parseRevisionKey, revisionKey } from '../core/revision.js';

/**
 * `127.0.0.1:<port>` of each running container of `revision` publishing the app's first TCP port:
 * where its traffic goes.
 */
export function servingEndpoints(app: App, revision: string, containers: readonly ContainerSummary[]): string[] {
  const port = app.spec.ports.find((p) => p.protocol === 'tcp')?.container;
  return containers
    .filter((c) => c.state === 'running' && revisionKey(c) === revision)
    .map((c) => (port === undefined ? undefined : loopbackPort(c.ports, port)))
    .filter((hostPort) => hostPort !== undefined)
    .map((hostPort) => `127.0.0.1:${hostPort}`);
}

/**
 * Where the proxy sends an app's traffic now: the serving revision's containers, and while
 * deploy.monitor watches it after a switch, the previous revision's running containers as
 * backups (they take a request only when the new ones failed it: a crash costs no request).
 * `serving` is the record's serving revision and when traffic switched to it.
 */
export function routeTargets(
  app: App,
  serving: { revision: string; switchedAt: number },
  previousRevision: string | undefined,
  containers: readonly ContainerSummary[],
  now: number,
): { endpoints: string[]; backups: string[] } {
  const endpoints = servingEndpoints(app, serving.revision, containers);
  const watching =
    previousRevision !== undefined &&
    previousRevision !== serving.revision &&
    now < serving.switchedAt + app.spec.deploy.monitor * 1000;
  return { endpoints, backups: watching ? servingEndpoints(app, previousRevision, containers) : [] };
}

export interface RunningRevision {
  /** Its revision key (`specHash@imageId`). */
  revision: string;
  imageId: string;
  /** Its running containers, newest first. */
  containers: ContainerSummary[];
  /** True when it is the revision berth's record says took traffic. */
  serving: boolean;
  /** The tag it was deployed as, when it is the serving revision and the record says. */
  tag?: string;
}

/**
 * What an app runs now, the one answer `plan`, `status` and the tags commands share: the
 * revision berth's record says serves, while any of its containers runs; else the revision of
 * the newest running container; undefined when nothing runs. A record that names only the
 * serving image (no revision) matches by image; one whose revision names an image by its
 * registry digest (a Swarm service's) matches the task containers of its spec.
 */
export function runningRevision(
  containers: readonly ContainerSummary[],
  record: Pick<AppRecord, 'servingRevision' | 'servingImageId' | 'servingTag'> | undefined,
): RunningRevision | undefined {
  const running = containers.filter((c) => c.state === 'running').sort((a, b) => b.createdAt - a.createdAt);
  const recorded = record?.servingRevision !== undefined ? parseRevisionKey(record.servingRevision) : undefined;
  const byDigest = recorded !== undefined && !running.some((c) => c.imageId === recorded.imageId);
  const isServing = (c: ContainerSummary) =>
    recorded !== undefined
      ? revisionKey(c) === record?.servingRevision || (byDigest && c.specHash === recorded.specHash)
      : record?.servingImageId !== undefined && c.imageId === record.servingImageId;
  const chosen = running.find(isServing) ?? running[0];
  if (!chosen) return undefined;
  const revision = revisionKey(chosen);
  const serving = isServing(chosen);
  return {
    revision,
    imageId: chosen.imageId,
    containers: running.filter((c) => revisionKey(c) === revision),
    serving,
    ...(serving && record?.servingTag !== undefined ? { tag: record.servingTag } : {}),
  };
}
