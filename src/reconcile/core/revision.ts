/**
 * Revision identity. A revision is the pair (spec hash, image id): editing a container-relevant
 * field, or re-pointing the tag at another image, makes a new revision; re-applying the same
 * spec to the same image does not.
 */
import { createHash } from 'node:crypto';
import { imageRef } from '../../manifest/image-ref.js';
import type { AppSpec } from '../../manifest/types.js';
import { canonicalJson } from '../../util/canonical-json.js';

/**
 * Hash of the fields that shape a container (image reference, command, env, ports, volumes,
 * resources). Fields that do not (replicas, checks, deploy, domains) are left out so that
 * scaling or tuning checks never restarts a running app.
 */
export function specHash(spec: AppSpec): string {
  const shape = {
    image: imageRef(spec.image, spec.tag),
    command: spec.command ?? null,
    env: spec.env,
    ports: spec.ports,
    // As written: where a host path was found on the host is no part of the revision.
    volumes: spec.volumes.map(({ source, target, readOnly }) => ({ source, target, readOnly })),
    resources: spec.resources,
    // Secrets count by a keyed digest of what they decrypt to, never by their values.
    ...(spec.resolved ? { secrets: spec.resolved.digest } : {}),
  };
  return createHash('sha256').update(canonicalJson(shape)).digest('hex').slice(0, 16);
}

export interface Revision {
  specHash: string;
  imageId: string;
}

/** Stable text key of a revision, as stored in state and compared by the planner. */
export function revisionKey(revision: Revision): string {
  return `${revision.specHash}@${revision.imageId}`;
}

/** The revision a key names; the inverse of `revisionKey`. */
export function parseRevisionKey(key: string): Revision {
  const at = key.indexOf('@');
  return at < 0 ? { specHash: key, imageId: '' } : { specHash: key.slice(0, at), imageId: key.slice(at + 1) };
}

/** Short digest of a revision, used in container names. */
export function revisionDigest(revision: Revision): string {
  return createHash('sha256').update(revisionKey(revision)).digest('hex').slice(0, 10);
}

/** `<namespace>.<app>.<revision digest>.<replica>`: unique per revision and replica slot. */
export function containerName(namespace: string, app: string, revision: Revision, replica: number): string {
  return `${namespace}.${app}.${revisionDigest(revision)}.${replica}`;
}
