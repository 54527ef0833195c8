/**
 * Where the Docker engine listens, read the way Docker's own clients read it:
 * `DOCKER_HOST` as `unix:///path/to.sock` or `tcp://host[:port]` (a bare `host:port` means tcp;
 * the port defaults to 2375, or 2376 with TLS), `DOCKER_TLS_VERIFY` (non-empty: TLS, verifying the
 * engine against `$DOCKER_CERT_PATH/ca.pem`, presenting `cert.pem`/`key.pem`; the cert path
 * defaults to `~/.docker`). Without DOCKER_HOST: the local socket `/var/run/docker.sock`.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { DockerOptions } from 'dockerode';

const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

export interface EngineEndpoint {
  /** The DOCKER_HOST the options were made from, for messages. */
  address: string;
  /** Complete connection options: every connection key is set, so dockerode's own reading of the environment never applies. */
  options: DockerOptions;
}

type Environment = Record<string, string | undefined>;

/** Throws an Error naming the problem when the address or the TLS files are unusable. */
export function resolveEngineEndpoint(dockerHost: string | undefined, env: Environment): EngineEndpoint {
  const address = dockerHost === undefined || dockerHost === '' ? DEFAULT_DOCKER_HOST : dockerHost;
  const withScheme = address.includes('://') ? address : `tcp://${address}`;
  const scheme = withScheme.slice(0, withScheme.indexOf('://'));
  // No request timeout: the event stream is idle for as long as nothing happens.
  const unset = {
    socketPath: undefined,
    host: undefined,
    port: undefined,
    protocol: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
    timeout: undefined,
  };

  if (scheme === 'unix') {
    const socketPath = withScheme.slice('unix://'.length) || DEFAULT_DOCKER_HOST.slice('unix://'.length);
    return { address, options: { ...unset, socketPath } };
  }
  if (scheme !== 'tcp') {
    throw new Error(`DOCKER_HOST "${address}" is not supported: use unix:///path or tcp://host:port`);
  }

  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`DOCKER_HOST "${address}" is not a valid tcp://host:port address`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new Error(`DOCKER_HOST "${address}" names no host`);

  const tls = (env.DOCKER_TLS_VERIFY ?? '') !== '';
  const port = url.port === '' ? (tls ? 2376 : 2375) : Number(url.port);
  if (!tls) return { address, options: { ...unset, host, port, protocol: 'http' } };

  const certPath = env.DOCKER_CERT_PATH || join(homedir(), '.docker');
  const read = (file: string): Buffer => {
    try {
      return readFileSync(join(certPath, file));
    } catch (error) {
      throw new Error(
        `DOCKER_TLS_VERIFY is set but ${join(certPath, file)} is unreadable: ${(error as Error).message}`,
      );
    }
  };
  return {
    address,
    options: {
      ...unset,
      host,
      port,
      protocol: 'https',
      ca: read('ca.pem'),
      cert: read('cert.pem'),
      key: read('key.pem'),
    },
  };
}
