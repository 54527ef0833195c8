import type { AppSpec } from '../../manifest/types.js';

/** The container's env: the manifest's, and the variables of its decrypted env files. */
export function containerEnv(spec: AppSpec): Record<string, string> {
  return spec.resolved ? { ...spec.env, ...spec.resolved.env } : spec.env;
}
