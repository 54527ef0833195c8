/**
 * Whether an app's desired state changed since a pass planned from it (pure). A pass that watches
 * Swarm for long (a rollout, deploy.monitor) looks at it on every poll and ends when it did, so an
 * edited or deleted manifest is acted on within seconds, as on one host, not after the watch.
 */
import { canonicalJson } from '../../util/canonical-json.js';
import type { Desired } from '../core/desired.js';

/** A test of whether the desired state now differs from `planned` (the same comparison the manifest reader makes). */
export function desiredChange(planned: Desired): (now: Desired) => boolean {
  const before = fingerprint(planned);
  return (now) => now !== planned && fingerprint(now) !== before;
}

function fingerprint(desired: Desired): string {
  if (desired.kind === 'absent') return canonicalJson(desired);
  return canonicalJson({ spec: desired.app.spec, invalid: desired.invalid ?? null });
}
