/**
 * What a Swarm plan changes about an app, field by field, for `berth plan` (pure): the service as
 * Swarm runs it against the one the manifest asks for.
 *
 * A service summary carries the image and the replica count, not the env or the ports, so only
 * those two are compared (env and ports are left out on both sides: no line, never a guess). With
 * no service yet there is no diff at all: the create's step names the image and the replicas.
 */
import { imageRef } from '../../manifest/image-ref.js';
import type { ServiceSummary } from '../../runtime/services.js';
import { diffApp, type AppShape, type DiffLine } from '../core/diff.js';
import type { SwarmObservation, SwarmPlan } from './actions.js';

/** The diff of a plan that changes something about a running service; [] otherwise. */
export function serviceDiff(observation: SwarmObservation, plan: SwarmPlan): DiffLine[] {
  const { service, desired, wanted } = observation;
  if (!service || plan.actions.length === 0 || plan.refused !== undefined) return [];
  if (desired.kind === 'absent') return diffApp(runningShape(service), undefined);
  const { spec } = desired.app;
  const image = wanted && 'spec' in wanted ? wanted.spec.image : imageRef(spec.image, spec.tag);
  return diffApp(runningShape(service), { image: imageShape(image), env: {}, ports: [], replicas: spec.replicas });
}

function runningShape(service: ServiceSummary): AppShape {
  return { image: imageShape(service.image), env: {}, ports: [], replicas: service.replicas };
}

/** `repository:tag@sha256:...` as the reference and the digest; a reference without a digest as itself. */
function imageShape(image: string): AppShape['image'] {
  const at = image.indexOf('@');
  return at < 0 ? { ref: image } : { ref: image.slice(0, at), id: image.slice(at + 1) };
}
