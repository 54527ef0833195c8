/**
 * The one door to the engine: a dockerode client speaking the engine's own API version, and the
 * error mapping every call goes through.
 *
 * The API version is negotiated, never pinned: on first use, and again after the engine was
 * unreachable (it may have been upgraded or downgraded meanwhile), GET /version (served unversioned
 * by every engine) tells the engine's `ApiVersion`, and every later request uses `/v<ApiVersion>/...`.
 * So berth speaks 1.41 to Docker 20 and 1.52 to Docker 29, whose minimum is 1.44.
 */
import Docker from 'dockerode';
import type { EngineInfo } from '../types.js';
import { EngineUnavailableError } from '../errors.js';
import { resolveEngineEndpoint, type EngineEndpoint } from './docker-host.js';
import { toRuntimeError, type FailureContext } from './map-error.js';

interface Negotiated {
  docker: Docker;
  info: EngineInfo;
}

export type CallContext = Omit<FailureContext, 'endpoint'>;

export class EngineClient {
  private readonly endpoint: EngineEndpoint | Error;
  private negotiated: Promise<Negotiated> | undefined;

  constructor(dockerHost: string | undefined, env: Record<string, string | undefined>) {
    try {
      this.endpoint = resolveEngineEndpoint(dockerHost, env);
    } catch (error) {
      this.endpoint = error as Error;
    }
  }

  /** Asks the engine for its versions now, and switches to its API version. */
  async negotiate(operation: string): Promise<EngineInfo> {
    this.negotiated = undefined;
    return (await this.client({ operation, object: 'engine' })).info;
  }

  /**
   * Runs `request` with the negotiated client; maps any failure through toRuntimeError with
   * `context`. An unreachable engine forgets the negotiated version.
   */
  async call<T>(context: CallContext, request: (docker: Docker) => Promise<T>): Promise<T> {
    const { docker } = await this.client(context);
    try {
      return await request(docker);
    } catch (error) {
      throw this.fail(error, context);
    }
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

async function readVersion(endpoint: EngineEndpoint): Promise<Negotiated> {
  const version = await new Docker(endpoint.options).version();
  const apiVersion = String(version.ApiVersion ?? '');
  if (!/^\d+\.\d+$/.test(apiVersion)) {
    throw new Error(`the engine at ${endpoint.address} reported no API version`);
  }
  return {
    docker: new Docker({ ...endpoint.options, version: `v${apiVersion}` }),
    info: { engineVersion: String(version.Version ?? ''), apiVersion },
  };
}
