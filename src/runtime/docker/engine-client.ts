/**
 * The one door to the engine: a dockerode client speaking the engine's own API version, and the
 * error mapping every call goes through.
 *
 * The API version is negotiated, never pinned: on first use, and again after the engine was
 * unreachable (it may have been upgraded or downgraded meanwhile), the `Api-Version` header of
 * GET /_ping (or, from an engine that sends none, GET /version; both served unversioned by every
 * engine) tells the engine's API version, and every later request uses `/v<ApiVersion>/...`.
 * So berth speaks 1.41 to Docker 20 and 1.52 to Docker 29, whose minimum is 1.44.
 */
import { Agent, request as httpRequest, type AgentOptions, type IncomingHttpHeaders } from 'node:http';
import { inspect } from 'node:util';
import Docker from 'dockerode';
import type { EngineInfo } from '../types.js';
import { EngineTimeoutError, EngineUnavailableError } from '../errors.js';
import { resolveEngineEndpoint, type EngineEndpoint } from './docker-host.js';
import { toRuntimeError, type FailureContext } from './map-error.js';
import { withDeadline } from '../../util/deadline.js';

interface Negotiated {
  docker: Docker;
  info: EngineInfo;
}

export type CallContext = Omit<FailureContext, 'endpoint'> & {
  /** How long the engine may take to answer; default by operation (DEADLINES_MS); 0 for none. */
  deadlineMs?: number;
};

/**
 * How long each kind of call may wait for the engine before it is taken for hung: short for
 * reads, longer for what makes the engine work (create, start, remove). A stop's own timeout is
 * added to its deadline; a pull has none (its stalls are watched instead, docker-runtime.ts).
 */
export const DEADLINES_MS: Readonly<Record<string, number>> = {
  ping: 10_000,
  listContainers: 30_000,
  inspectContainer: 30_000,
  inspectImage: 30_000,
  lastExitCode: 10_000,
  listImages: 30_000,
  containerLogs: 30_000,
  execInContainer: 30_000,
  tagImage: 30_000,
  untagImage: 30_000,
  subscribe: 30_000,
  createContainer: 60_000,
  startContainer: 60_000,
  stopContainer: 60_000,
  removeContainer: 60_000,
  inspectRemoteImage: 120_000,
};
const DEFAULT_DEADLINE_MS = 60_000;

export class EngineClient {
  private readonly endpoint: EngineEndpoint | Error;
  private negotiated: Promise<Negotiated> | undefined;

  private readonly deadlines: Readonly<Record<string, number>>;

  constructor(
    dockerHost: string | undefined,
    env: Record<string, string | undefined>,
    deadlines: Readonly<Record<string, number>> = {},
  ) {
    this.deadlines = { ...DEADLINES_MS, ...deadlines };
    try {
      this.endpoint = resolveEngineEndpoint(dockerHost, env);
    } catch (error) {
      this.endpoint = error as Error;
    }
  }

  /** Asks the engine for its versions now, and switches to its API version. */
  async negotiate(operation: string): Promise<EngineInfo> {
    this.negotiated = undefined;
    const context = { operation, object: 'engine' };
    return this.withinDeadline(
      context,
      this.deadlines[operation] ?? DEFAULT_DEADLINE_MS,
      async () => (await this.client(context)).info,
    );
  }

  /**
   * Runs `request` with the negotiated client; maps any failure through toRuntimeError with
   * `context`. An unreachable engine forgets the negotiated version.
   */
  async call<T>(context: CallContext, request: (docker: Docker) => Promise<T>): Promise<T> {
    const deadlineMs = context.deadlineMs ?? this.deadlines[context.operation] ?? DEFAULT_DEADLINE_MS;
    return this.withinDeadline(context, deadlineMs, async () => {
      const { docker } = await this.client(context);
      try {
        return await request(docker);
      } catch (error) {
        throw this.fail(error, context);
      }
    });
  }

  /**
   * `work`, unless the engine takes longer than `deadlineMs`: then EngineTimeoutError, and the
   * negotiated version is forgotten as for an unreachable engine. The request itself is left to
   * finish or fail on its own; its answer is ignored.
   */
  private async withinDeadline<T>(context: CallContext, deadlineMs: number, work: () => Promise<T>): Promise<T> {
    if (deadlineMs <= 0) return work();
    return withDeadline(work(), deadlineMs, () => {
      this.negotiated = undefined;
      const address = this.endpoint instanceof Error ? 'DOCKER_HOST' : this.endpoint.address;
      return new EngineTimeoutError(
        context.operation,
        `${context.operation} ${context.object}: the Docker engine at ${address} did not answer within ${deadlineMs / 1000} s`,
      );
    });
  }

  /** Maps `error` like `call` does, for failures seen outside a `call` (e.g. on a stream). */
  fail(error: unknown, context: CallContext): Error {
    const address = this.endpoint instanceof Error ? 'DOCKER_HOST' : this.endpoint.address;
    const mapped = toRuntimeError(error, { ...context, endpoint: address });
    if (mapped instanceof EngineUnavailableError) this.negotiated = undefined;
    return mapped;
  }

  private async client({ operation, object }: CallContext): Promise<Negotiated> {
    const endpoint = this.endpoint;
    if (endpoint instanceof Error) {
      throw new EngineUnavailableError(operation, `${operation} ${object}: ${endpoint.message}`);
    }
    const attempt = (this.negotiated ??= readVersion(endpoint));
    try {
      return await attempt;
    } catch (error) {
      if (this.negotiated === attempt) this.negotiated = undefined;
      throw this.fail(error, { operation, object });
    }
  }
}

/**
 * A unix socket has no TLS server name, but Node's agent works one out for every connection,
 * and the first time compiles its IPv6 address pattern (about 5 ms of a command's start). An
 * empty `servername` skips that.
 */
const NO_SERVER_NAME = { servername: '' } as const;

/**
 * The agent for requests over the engine's unix socket: Node's global agent's settings
 * (keep-alive, lifo, 5 s idle timeout) and NO_SERVER_NAME. docker-modem inspects every
 * request's options, agent included, for a debug line (whether or not DEBUG is set); the agent
 * describes itself in one word so that costs nothing.
 */
function unixSocketAgent(): Agent {
  const agent = new Agent({ keepAlive: true, scheduling: 'lifo', timeout: 5000, ...NO_SERVER_NAME } as AgentOptions);
  Object.defineProperty(agent, inspect.custom, { value: () => 'Agent' });
  return agent;
}

async function readVersion(endpoint: EngineEndpoint): Promise<Negotiated> {
  const pinged = await pingVersions(endpoint.options);
  const { apiVersion, engineVersion } = pinged ?? (await versionEndpoint(endpoint.options));
  if (!/^\d+\.\d+$/.test(apiVersion)) {
    throw new Error(`the engine at ${endpoint.address} reported no API version`);
  }
  return {
    docker: new Docker({
      ...endpoint.options,
      ...(endpoint.options.socketPath !== undefined && { agent: unixSocketAgent() }),
      version: `v${apiVersion}`,
    }),
    info: { engineVersion, apiVersion },
  };
}

async function versionEndpoint(options: EngineEndpoint['options']): Promise<EngineInfo> {
  const version = await new Docker(options).version();
  return { apiVersion: String(version.ApiVersion ?? ''), engineVersion: String(version.Version ?? '') };
}

/**
 * The versions from GET /_ping's headers (`Api-Version`, `Server: Docker/<version> (<os>)`):
 * one round trip the engine answers at once, where GET /version gathers every component's
 * version first. dockerode keeps response headers to itself, so this one request is Node's own.
 * Undefined when the engine sends no Api-Version (then /version is asked).
 */
async function pingVersions(options: EngineEndpoint['options']): Promise<EngineInfo | undefined> {
  const tls = options.protocol === 'https';
  const request = tls ? (await import('node:https')).request : httpRequest;
  const headers = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
    const req = request(
      {
        ...(options.socketPath !== undefined
          ? { socketPath: options.socketPath }
          : { host: options.host, port: options.port }),
        ...(tls ? { ca: options.ca, cert: options.cert, key: options.key } : {}),
        ...(options.socketPath !== undefined && NO_SERVER_NAME),
        path: '/_ping',
        method: 'GET',
        agent: false,
      },
      (res) => {
        res.resume();
        if (res.statusCode === 200) resolve(res.headers);
        else reject(Object.assign(new Error(`GET /_ping: HTTP ${res.statusCode}`), { statusCode: res.statusCode }));
      },
    );
    req.on('error', reject);
    req.end();
  });
  const apiVersion = headers['api-version'];
  if (typeof apiVersion !== 'string') return undefined;
  const server = /^Docker\/(\S+)/.exec(String(headers.server ?? ''))?.[1];
  return { apiVersion, engineVersion: server ?? '' };
}
