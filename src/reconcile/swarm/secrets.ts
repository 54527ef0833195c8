/**
 * Which of an app's Docker secrets may go (pure): those neither the service's spec nor its
 * previous spec mounts (Swarm rolls back to the previous one, so its secrets stay), and every one
 * once the service is gone.
 */
import type { SecretSummary, ServiceSummary } from '../../runtime/services.js';
import type { RemoveSecretAction } from './actions.js';

/** One removal per secret of `secrets` that `service` (undefined: gone) no longer mounts. */
export function unusedSecrets(
  secrets: readonly SecretSummary[],
  service: ServiceSummary | undefined,
): RemoveSecretAction[] {
  const mounted = new Set(service?.secretNames ?? []);
  return secrets
    .filter((secret) => !mounted.has(secret.name))
    .map((secret) => ({
      type: 'removeSecret',
      id: secret.id,
      name: secret.name,
      reason: service ? "neither the service's spec nor its previous spec mounts it" : 'the service is gone',
    }));
}
