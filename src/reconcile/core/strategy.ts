import type { App } from '../../manifest/types.js';

export type EffectiveStrategy = { name: 'zero-downtime' | 'recreate'; note?: string } | { refused: string };

/** Two containers cannot bind one fixed host port, so such apps roll out by `recreate`. */
export function effectiveStrategy(app: App, proxy: boolean): EffectiveStrategy {
  const { deploy, ports } = app.spec;
  const fixed = ports.find((p) => p.host !== undefined);
  if (deploy.strategy === 'recreate' || !fixed) return { name: deploy.strategy };
  const why = `port ${fixed.container} is published on fixed host port ${fixed.host}, which two containers cannot share`;
  if (deploy.strategyExplicit) {
    const hint = proxy
      ? 'drop the host port and let the proxy route to it, or set deploy.strategy: recreate'
      : 'drop the host port or set deploy.strategy: recreate';
    return { refused: `deploy.strategy zero-downtime is impossible: ${why}; ${hint}` };
  }
  return { name: 'recreate', note: ` (deployed by recreate: ${why})` };
}
