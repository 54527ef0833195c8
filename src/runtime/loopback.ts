import type { PublishedPort } from './types.js';

/**
 * The host port through which 127.0.0.1 reaches `containerPort`/tcp, when it is published on a
 * loopback or wildcard address; berth sends traffic to loopback only, never to container IPs.
 */
export function loopbackPort(ports: PublishedPort[], containerPort: number): number | undefined {
  return ports.find(
    (p) =>
      p.container === containerPort &&
      p.protocol === 'tcp' &&
      (p.hostIp === '' || p.hostIp === '0.0.0.0' || p.hostIp === '::' || p.hostIp.startsWith('127.')),
  )?.hostPort;
}
