/**
 * What the host shows each app holding, for apps berth has not judged yet (its start, `plan`):
 * a host port its running containers publish, a domain its proxy route serves. Pure.
 */
import { isWildcard, type Claim } from '../../manifest/claims.js';
import type { ContainerSummary } from '../../runtime/types.js';

export function heldClaims(
  containers: readonly ContainerSummary[],
  routed: readonly string[],
): (app: string, claim: Claim) => boolean {
  const routes = new Set(routed);
  return (app, claim) => {
    switch (claim.kind) {
      case 'port':
        return containers.some(
          (c) =>
            c.app === app &&
            c.state === 'running' &&
            c.ports.some(
              (p) =>
                p.hostPort === claim.port &&
                p.protocol === claim.protocol &&
                (p.hostIp === claim.hostIp || isWildcard(p.hostIp) || isWildcard(claim.hostIp)),
            ),
        );
      case 'domain':
        return routes.has(app);
      case 'volume':
        return true;
    }
  };
}
