/**
 * A manifest as a Swarm service (pure). What Swarm can honour is mapped; what it cannot is
 * refused with the reason, never dropped silently:
 * - `checks.http` and `checks.exec` become the service's healthcheck (http checks as wget in the
 *   container, so they need a shell and wget there; a lone exec check needs neither): a new task
 *   counts as running only once healthy, so a start-first update stops the old task only after the
 *   new one passed. `checks.wait` becomes the update's monitor window.
 * - `deploy.strategy`: zero-downtime is a start-first update, recreate (or a fixed host port,
 *   which two tasks on one node cannot share) stop-first; both roll back on failure.
 * - Ports are published in host mode (no routing mesh): on every address of the node.
 * - Decrypted secrets: each `spec.secrets` file becomes a Docker secret (kept encrypted in the
 *   swarm's raft log, handed only to the nodes that run a task) named for the app and a keyed
 *   digest of its secrets, so a rotation is a new secret and a rolling update; `spec.envFrom`
 *   variables join the service's env, as they join a container's on one host. The service-hash
 *   label covers that digest, never a value.
 * - `release` and `postDeploy` are not part of the service: each runs as a Swarm job of the
 *   revision's spec (jobs.ts), planned around the create or update (plan-jobs.ts).
 */
import { createHash } from 'node:crypto';
import { appRepository, imageRef } from '../../manifest/image-ref.js';
import type { App, AppSpec } from '../../manifest/types.js';
import type { SecretSpec, ServiceSpec } from '../../runtime/services.js';
import {
  LABEL_APP,
  LABEL_MANAGED,
  LABEL_NAMESPACE,
  LABEL_SECRETS,
  LABEL_SERVICE_HASH,
  LABEL_SPEC_HASH,
} from '../../runtime/types.js';
import { containerEnv } from '../core/env.js';
import { canonicalJson } from '../../util/canonical-json.js';
import { effectiveStrategy } from '../core/strategy.js';
import { specHash } from '../core/revision.js';

/** The shortest window Swarm watches a new task for failure (its own default is 5 s). */
const MIN_MONITOR_MS = 5_000;
/**
 * Swarm's window when berth watches the new tasks itself once the update completes
 * (deploy.monitor): a crash after it is rolled back by berth, so Swarm need not hold the update
 * open for 5 s per task before calling it complete.
 */
const WATCHED_MONITOR_MS = 1_000;

export type ServiceSpecResult = { spec: ServiceSpec } | { refused: string };

/** `<namespace>_<app>`, as `docker stack` names services. */
export function serviceName(namespace: string, app: string): string {
  return `${namespace}_${app}`;
}

/**
 * The service for `app`, running `image` (the tag pinned to its digest where a registry knows it).
 * `nodes` is the swarm's size: an image only this host has cannot reach the others.
 */
export function serviceSpecFor(
  namespace: string,
  app: App,
  image: { ref: string; pinned: boolean },
  nodes: number,
  stopTimeoutSeconds: number,
): ServiceSpecResult {
  const { spec } = app;
  if (!image.pinned && nodes > 1) {
    return {
      refused: `${imageRef(spec.image, spec.tag)} is on this host only (no registry knows its digest), and this swarm has ${nodes} nodes: push it to a registry and name it in spec.image`,
    };
  }
  if (spec.digest !== undefined) {
    const served = image.pinned ? image.ref.slice(image.ref.indexOf('@') + 1) : undefined;
    if (served === undefined)
      return {
        refused: `spec.digest pins ${spec.digest}, but no registry serves ${imageRef(spec.image, spec.tag)} to check it against`,
      };
    if (served !== spec.digest)
      return {
        refused: `digest mismatch: the manifest pins ${spec.digest} but the registry serves ${imageRef(spec.image, spec.tag)} as ${served}`,
      };
  }
  if ((spec.envFrom.length > 0 || spec.secrets.length > 0) && !spec.resolved)
    return { refused: 'spec.envFrom and spec.secrets were not decrypted (berth was given no identity)' };
  const strategy = effectiveStrategy(app, false);
  if ('refused' in strategy) return { refused: strategy.refused };

  const labels = {
    [LABEL_MANAGED]: 'true',
    [LABEL_NAMESPACE]: namespace,
    [LABEL_APP]: app.name,
    [LABEL_SPEC_HASH]: specHash(spec),
  };
  const service: ServiceSpec = {
    name: serviceName(namespace, app.name),
    labels,
    image: image.ref,
    ...(spec.command ? { command: spec.command } : {}),
    env: containerEnv(spec),
    ports: spec.ports.map((p) => ({
      target: p.container,
      ...(p.host !== undefined ? { published: p.host } : {}),
      protocol: p.protocol,
    })),
    volumes: spec.volumes,
    secrets: swarmSecretsFor(namespace, app).map(({ name, target }) => ({ name, target })),
    replicas: spec.replicas,
    resources: spec.resources,
    ...healthcheckFor(spec.checks),
    update: {
      order: strategy.name === 'zero-downtime' ? 'start-first' : 'stop-first',
      monitorMs: spec.deploy.monitor > 0 ? WATCHED_MONITOR_MS : Math.max(MIN_MONITOR_MS, spec.checks.wait * 1000),
    },
    stopGracePeriodMs: stopTimeoutSeconds * 1000,
  };
  return { spec: { ...service, labels: { ...labels, [LABEL_SERVICE_HASH]: serviceHash(service, spec) } } };
}

/**
 * The checks as the one probe Swarm runs in each task: a lone exec check as it is (exec form, so
 * an image needs no shell); otherwise every probe in one shell command, all of which must pass.
 * No checks: no healthcheck, so the image's own HEALTHCHECK (if any) decides.
 */
function healthcheckFor(checks: AppSpec['checks']): Pick<ServiceSpec, 'healthcheck'> {
  const { http, exec } = checks;
  const probes = [...http, ...exec];
  if (probes.length === 0) return {};
  const test =
    http.length === 0 && exec.length === 1
      ? ['CMD', ...exec[0]!.command]
      : [
          'CMD-SHELL',
          [
            ...http.map(
              (c) =>
                `wget -q -O- ${shellQuote(`http://127.0.0.1:${c.port}${c.path}`)}${c.content !== undefined ? ` | grep -qF -e ${shellQuote(c.content)}` : ' >/dev/null'}`,
            ),
            ...exec.map((c) => c.command.map(shellQuote).join(' ')),
          ].join(' && '),
        ];
  return {
    healthcheck: {
      test,
      intervalMs: Math.max(1, Math.min(...probes.map((c) => c.wait))) * 1000,
      timeoutMs: Math.max(...probes.map((c) => c.timeout)) * 1000,
      retries: Math.max(...probes.map((c) => c.attempts)),
      startPeriodMs: 0,
    },
  };
}

/** `word` as one POSIX shell word. */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Hash of everything berth sends for a service (labels aside), decrypted env values as their keyed digest. */
function serviceHash(service: ServiceSpec, spec: AppSpec): string {
  const { labels: _labels, ...rest } = service;
  const hashed = spec.resolved ? { ...rest, env: spec.env, secretsDigest: spec.resolved.digest } : rest;
  return createHash('sha256').update(canonicalJson(hashed)).digest('hex').slice(0, 16);
}

/** Docker's limit on a secret's name. */
const MAX_SECRET_NAME = 64;

/**
 * The Docker secrets the app's decrypted files become: `<namespace>_<app>_<digest>_<index>`
 * (the service's name shortened when the whole is over 64 characters).
 */
export function swarmSecretsFor(namespace: string, app: App): (SecretSpec & { target: string })[] {
  const resolved = app.spec.resolved;
  if (!resolved) return [];
  const service = serviceName(namespace, app.name);
  return resolved.files.map((file, index) => {
    const suffix = `_${resolved.digest.slice(0, 12)}_${index}`;
    return {
      name: `${service.slice(0, MAX_SECRET_NAME - suffix.length)}${suffix}`,
      target: file.target,
      data: file.content,
      labels: {
        [LABEL_MANAGED]: 'true',
        [LABEL_NAMESPACE]: namespace,
        [LABEL_APP]: app.name,
        [LABEL_SECRETS]: resolved.digest,
      },
    };
  });
}

/** The reference to resolve: the manifest's image and tag (the app's own repository when none is named). */
export function desiredRef(namespace: string, app: App): string {
  return imageRef(app.spec.image || appRepository(namespace, app.name), app.spec.tag);
}
