/**
 * What a manifest asks that Swarm cannot honour as one host does, said at its `file:line:col`
 * rather than dropped without a word (`--runtime swarm`). berth publishes a service's ports in
 * host mode, and Swarm binds each on every address of the node that runs the task: a manifest that
 * binds an address other than the wildcard asks for something Swarm cannot do (a problem); one
 * that omits `hostIp` (the schema's default, 127.0.0.1 on one host) is published on every address
 * all the same (a warning). Swarm stops
 * each old task once its replacement is healthy, so `deploy.retireAfter` has no effect there (a
 * warning, when written). A canary is a split in one host's nginx, and Swarm rolls a service out by
 * its own update config (a problem). Pure.
 */
import type { NodeMessage } from './messages.js';
import { displayPath, valueAt } from './paths.js';

/** The fields of a document as written, read before validation fills in the schema's defaults. */
export interface WrittenFields {
  /** Per entry of spec.ports: whether it names hostIp. */
  hostIp: boolean[];
  retireAfter: boolean;
}

export function writtenFields(document: unknown): WrittenFields {
  const ports = valueAt(document, '/spec/ports');
  return {
    hostIp: Array.isArray(ports)
      ? ports.map((_p, i) => valueAt(document, `/spec/ports/${i}/hostIp`) !== undefined)
      : [],
    retireAfter: valueAt(document, '/spec/deploy/retireAfter') !== undefined,
  };
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** `valid`: the validated document (defaults filled in); `written`: what its author wrote (writtenFields). */
export function swarmFieldMessages(
  valid: { spec: { ports: { container: number; hostIp: string; protocol: string }[]; deploy?: { canary?: unknown } } },
  written: WrittenFields,
): { errors: NodeMessage[]; warnings: NodeMessage[] } {
  const errors: NodeMessage[] = [];
  const warnings: NodeMessage[] = [];
  valid.spec.ports.forEach((port, i) => {
    const where = `${port.container}/${port.protocol}`;
    if (written.hostIp[i] && !WILDCARDS.has(port.hostIp)) {
      const pointer = `/spec/ports/${i}/hostIp`;
      errors.push({
        pointer,
        which: 'value',
        message: `${displayPath(pointer, valid)}: Swarm publishes port ${where} on every address of the node that runs each task and cannot bind ${port.hostIp}; write 0.0.0.0 (or ::), or drop the port and let the proxy reach the tasks`,
      });
    } else if (!written.hostIp[i]) {
      const pointer = `/spec/ports/${i}`;
      warnings.push({
        pointer,
        which: 'value',
        message: `warning: ${displayPath(pointer, valid)}: on Swarm port ${where} is published on every address of the node that runs each task, not on 127.0.0.1 as on one host; write hostIp: 0.0.0.0 to say so`,
      });
    }
  });
  if (valid.spec.deploy?.canary !== undefined)
    errors.push({
      pointer: '/spec/deploy/canary',
      which: 'key',
      message: `${displayPath('/spec/deploy/canary', valid)}: Swarm rolls out by its own update config; a canary needs one host's nginx (run it with --runtime docker, or remove the canary)`,
    });
  if (written.retireAfter)
    warnings.push({
      pointer: '/spec/deploy/retireAfter',
      which: 'value',
      message:
        'warning: spec.deploy.retireAfter has no effect on Swarm: Swarm stops each old task as soon as its replacement is healthy',
    });
  return { errors, warnings };
}
