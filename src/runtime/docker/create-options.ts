/**
 * The engine's container-create body for a ContainerCreateSpec. It grants only what the spec
 * names: published ports, named-volume or host-path mounts, memory and CPU limits, the restart
 * policy `unless-stopped`; never privileged mode, capabilities, host networking or devices.
 */
import type { ContainerCreateOptions, MountSettings, PortMap } from 'dockerode';
import type { ContainerCreateSpec } from '../types.js';
import { parseMemorySize } from './memory-size.js';

/** Throws an Error naming the problem when the spec's memory limit does not parse. */
export function toCreateOptions(spec: ContainerCreateSpec): ContainerCreateOptions {
  const exposedPorts: Record<string, object> = {};
  const portBindings: PortMap = {};
  for (const port of spec.ports) {
    const key = `${port.container}/${port.protocol}`;
    exposedPorts[key] = {};
    // An empty HostPort makes the engine pick a free ephemeral port.
    (portBindings[key] ??= []).push({
      HostIp: port.hostIp,
      HostPort: port.host === undefined ? '' : String(port.host),
    });
  }

  const mounts: MountSettings[] = spec.volumes.map((volume) => ({
    Type: volume.source.startsWith('/') ? 'bind' : 'volume',
    Source: volume.hostSource ?? volume.source,
    Target: volume.target,
    ReadOnly: volume.readOnly,
  }));

  return {
    name: spec.name,
    Image: spec.image,
    ...(spec.command === undefined ? {} : { Cmd: spec.command }),
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: spec.labels,
    ExposedPorts: exposedPorts,
    HostConfig: {
      PortBindings: portBindings,
      Mounts: mounts,
      RestartPolicy: { Name: spec.restart === false ? 'no' : 'unless-stopped' },
      ...(spec.resources.memory === undefined ? {} : { Memory: memoryBytes(spec.resources.memory) }),
      ...(spec.resources.cpus === undefined ? {} : { NanoCpus: Math.round(spec.resources.cpus * 1e9) }),
    },
  };
}

function memoryBytes(memory: string): number {
  const bytes = parseMemorySize(memory);
  if (bytes === undefined) throw new Error(`invalid memory limit "${memory}" (expected e.g. 512k, 256m, 1g or bytes)`);
  return bytes;
}
