import { UsageError } from './usage.js';

/** The engines berth deploys to. */
export type RuntimeKind = 'docker' | 'swarm';

/** `--runtime`, as `run`, `plan` and `validate` take it. */
export const RUNTIME_FLAG = { runtime: { type: 'string', default: 'docker' } } as const;

/** `--runtime` checked: docker or swarm (the one place it is). */
export function runtimeKind(value: string): RuntimeKind {
  if (value !== 'docker' && value !== 'swarm')
    throw new UsageError(`--runtime must be docker or swarm, not "${value}"`);
  return value;
}
