/**
 * berth's view of the engine's answers: container list entries and inspects become
 * ContainerSummary/ContainerDetail, image list entries and inspects become ImageInfo.
 * Times become milliseconds since the epoch (0 when the engine has none).
 */
import type {
  ContainerInfo,
  ContainerInspectInfo,
  ImageInfo as EngineImageListEntry,
  ImageInspectInfo,
} from 'dockerode';
import type { PortSpec } from '../../manifest/types.js';
import {
  LABEL_APP,
  LABEL_REPLICA,
  LABEL_SPEC_HASH,
  type ContainerDetail,
  type ContainerState,
  type ContainerSummary,
  type ImageInfo,
  type PublishedPort,
} from '../types.js';

const CONTAINER_STATES: readonly ContainerState[] = [
  'created',
  'running',
  'paused',
  'restarting',
  'removing',
  'exited',
  'dead',
];

export function containerSummaryOf(entry: ContainerInfo): ContainerSummary {
  const labels = entry.Labels ?? {};
  return {
    id: entry.Id,
    name: (entry.Names?.[0] ?? '').replace(/^\//, ''),
    ...fromLabels(labels),
    imageId: entry.ImageID,
    state: containerStateOf(entry.State),
    labels,
    createdAt: entry.Created * 1000,
    ports: (entry.Ports ?? [])
      .filter((port) => port.PublicPort !== undefined && port.PublicPort > 0)
      .map((port) => ({
        container: port.PrivatePort,
        protocol: protocolOf(port.Type),
        hostIp: port.IP ?? '',
        hostPort: port.PublicPort,
      })),
  };
}

export function containerDetailOf(inspect: ContainerInspectInfo): ContainerDetail {
  const labels = inspect.Config?.Labels ?? {};
  return {
    id: inspect.Id,
    name: inspect.Name.replace(/^\//, ''),
    ...fromLabels(labels),
    imageId: inspect.Image,
    state: containerStateOf(inspect.State.Status),
    labels,
    createdAt: millisecondsOf(inspect.Created),
    ports: publishedPortsOf(inspect.NetworkSettings?.Ports ?? {}),
    startedAt: millisecondsOf(inspect.State.StartedAt),
    restartCount: inspect.RestartCount ?? 0,
    exitCode: inspect.State.ExitCode ?? 0,
    error: inspect.State.Error ?? '',
    ...healthOf(inspect.State.Health?.Status),
    env: envOf(inspect.Config?.Env),
    requestedPorts: requestedPortsOf(inspect.HostConfig?.PortBindings ?? {}),
  };
}

export function imageInfoOfInspect(inspect: ImageInspectInfo): ImageInfo {
  return {
    id: inspect.Id,
    repoTags: inspect.RepoTags ?? [],
    repoDigests: inspect.RepoDigests ?? [],
    createdAt: millisecondsOf(inspect.Created),
    size: inspect.Size ?? 0,
    env: envOf(inspect.Config?.Env),
  };
}

export function imageInfoOfListEntry(entry: EngineImageListEntry): ImageInfo {
  return {
    id: entry.Id,
    repoTags: (entry.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>'),
    repoDigests: (entry.RepoDigests ?? []).filter((digest) => digest !== '<none>@<none>'),
    createdAt: (entry.Created ?? 0) * 1000,
    size: entry.Size ?? 0,
  };
}

function fromLabels(labels: Record<string, string>): Pick<ContainerSummary, 'app' | 'specHash' | 'replica'> {
  const replica = Number.parseInt(labels[LABEL_REPLICA] ?? '', 10);
  return {
    app: labels[LABEL_APP] ?? '',
    specHash: labels[LABEL_SPEC_HASH] ?? '',
    replica: Number.isInteger(replica) && replica >= 0 ? replica : -1,
  };
}

/** A state the engine may add in the future counts as not running. */
function containerStateOf(state: string): ContainerState {
  return CONTAINER_STATES.find((known) => known === state) ?? 'dead';
}

function protocolOf(type: string): PublishedPort['protocol'] {
  return type === 'udp' ? 'udp' : 'tcp';
}

/** Inspect's `NetworkSettings.Ports`: `{"8080/tcp": [{HostIp, HostPort}] | null}`; only published ones count. */
function publishedPortsOf(ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null>): PublishedPort[] {
  return Object.entries(ports).flatMap(([key, bindings]) => {
    const [port = '', protocol = 'tcp'] = key.split('/');
    return (bindings ?? [])
      .map((binding) => ({
        container: Number(port),
        protocol: protocolOf(protocol),
        hostIp: binding.HostIp,
        hostPort: Number(binding.HostPort),
      }))
      .filter((published) => published.hostPort > 0);
  });
}

/** `Config.Env` (`KEY=value` entries) as a record; an entry without `=` has the empty value. */
function envOf(entries: string[] | null | undefined): Record<string, string> {
  return Object.fromEntries(
    (entries ?? []).map((entry) => {
      const equals = entry.indexOf('=');
      return equals < 0 ? [entry, ''] : [entry.slice(0, equals), entry.slice(equals + 1)];
    }),
  );
}

/** Inspect's `HostConfig.PortBindings`: `{"8080/tcp": [{HostIp, HostPort}]}`, an empty or "0" HostPort being ephemeral. */
function requestedPortsOf(bindings: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>): PortSpec[] {
  return Object.entries(bindings).flatMap(([key, hostBindings]) => {
    const [port = '', protocol = 'tcp'] = key.split('/');
    return (hostBindings ?? []).map((binding) => {
      const host = Number.parseInt(binding.HostPort ?? '', 10);
      return {
        container: Number(port),
        ...(Number.isInteger(host) && host > 0 ? { host } : {}),
        hostIp: binding.HostIp ?? '',
        protocol: protocolOf(protocol),
      };
    });
  });
}

/** RFC 3339 times; Docker's zero time (`0001-01-01T00:00:00Z`) and absent times are 0. */
function millisecondsOf(time: string | undefined): number {
  const milliseconds = time === undefined ? Number.NaN : Date.parse(time);
  return Number.isFinite(milliseconds) && milliseconds > 0 ? milliseconds : 0;
}

function healthOf(status: string | undefined): Pick<ContainerDetail, 'health'> {
  return status === 'starting' || status === 'healthy' || status === 'unhealthy' ? { health: status } : {};
}
