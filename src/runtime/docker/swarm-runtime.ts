import { repositoryOf, tagOf } from '../../manifest/image-ref.js';
import { forEachJsonLine } from './json-lines.js';
import {
  EngineError,
  ImageNotFoundError,
  NameConflictError,
  PullError,
  SecretNotFoundError,
  ServiceNotFoundError,
} from '../errors.js';
import { LABEL_APP, LABEL_MANAGED, LABEL_NAMESPACE, LABEL_SERVICE_HASH, LABEL_SPEC_HASH } from '../types.js';
import type {
  ImageLocation,
  SecretSpec,
  SecretSummary,
  ServiceRuntime,
  ServiceSpec,
  ServiceSummary,
  TaskState,
  TaskSummary,
  UpdateState,
} from '../services.js';
import { EngineClient } from './engine-client.js';
import { parseMemorySize } from './memory-size.js';
import { registryCredentials } from './registry-auth.js';

interface SwarmRuntimeOptions {
  /** Overrides DOCKER_HOST. */
  dockerHost?: string;
  /** A push that makes no progress for this long is abandoned (`--pull-stall-timeout`, as a pull). */
  pushStallMs?: number;
}

const DEFAULT_PUSH_STALL_MS = 120_000;

export function createSwarmRuntime(options: SwarmRuntimeOptions = {}): ServiceRuntime {
  return new SwarmRuntime(
    new EngineClient(options.dockerHost ?? process.env.DOCKER_HOST, process.env),
    process.env,
    options.pushStallMs ?? DEFAULT_PUSH_STALL_MS,
  );
}

const NANOS_PER_MS = 1_000_000;

class SwarmRuntime implements ServiceRuntime {
  constructor(
    private readonly engine: EngineClient,
    private readonly env: Record<string, string | undefined>,
    private readonly pushStallMs: number,
  ) {}

  swarm(): Promise<{ nodeId: string; managers: number; nodes: number }> {
    return this.engine.call({ operation: 'swarm', object: 'engine' }, async (docker) => {
      const info = (await docker.info()) as {
        Swarm?: {
          NodeID?: string;
          ControlAvailable?: boolean;
          Managers?: number;
          Nodes?: number;
          LocalNodeState?: string;
        };
      };
      const swarm = info.Swarm;
      if (!swarm?.ControlAvailable)
        throw new EngineError(
          'swarm',
          `swarm engine: this engine is no swarm manager (swarm state: ${swarm?.LocalNodeState || 'inactive'}); run \`docker swarm init\` or point DOCKER_HOST at a manager`,
        );
      return { nodeId: swarm.NodeID ?? '', managers: swarm.Managers ?? 0, nodes: swarm.Nodes ?? 0 };
    });
  }

  listServices(namespace: string, app?: string): Promise<ServiceSummary[]> {
    return this.engine.call(
      { operation: 'listServices', object: app === undefined ? namespace : `${namespace}/${app}` },
      async (docker) => {
        const services = (await docker.listServices({
          filters: { label: managedLabels(namespace, app) },
        })) as unknown as RawService[];
        return services.map(serviceSummaryOf);
      },
    );
  }

  listTasks(namespace: string, app?: string): Promise<TaskSummary[]> {
    return this.engine.call(
      { operation: 'listTasks', object: app === undefined ? namespace : `${namespace}/${app}` },
      async (docker) => {
        const tasks = (await docker.listTasks({
          filters: { label: managedLabels(namespace, app) },
        })) as unknown as RawTask[];
        return tasks.map(taskSummaryOf);
      },
    );
  }

  listNodes(): Promise<{ id: string; addr: string }[]> {
    return this.engine.call({ operation: 'listNodes', object: 'swarm' }, async (docker) => {
      const nodes = (await docker.listNodes()) as {
        ID: string;
        Status?: { Addr?: string };
        ManagerStatus?: { Addr?: string };
      }[];
      // A manager may report 0.0.0.0 as its status address; its manager address names the host it advertises.
      return nodes.map((n) => {
        const status = n.Status?.Addr ?? '';
        const addr =
          status !== '' && status !== '0.0.0.0' ? status : (n.ManagerStatus?.Addr ?? '').replace(/:\d+$/, '');
        return { id: n.ID, addr };
      });
    });
  }

  async locateImage(ref: string): Promise<ImageLocation> {
    const auth = await this.credentials('locateImage', ref);
    try {
      const answer = (await this.engine.call(
        { operation: 'locateImage', object: ref, byStatus: { 404: ImageNotFoundError }, otherwise: PullError },
        (docker) => docker.getImage(ref).distribution(auth ? { authconfig: auth } : {}),
      )) as { Descriptor?: { digest?: unknown } };
      const digest = answer.Descriptor?.digest;
      if (typeof digest === 'string') return { where: 'registry', pinned: `${ref}@${digest}` };
    } catch (error) {
      // No registry has it (an image loaded or built here): this host's own copy is the other answer.
      if (!(error instanceof PullError || error instanceof ImageNotFoundError)) throw error;
    }
    const local = await this.engine
      .call({ operation: 'inspectImage', object: ref, byStatus: { 404: ImageNotFoundError } }, (docker) =>
        docker.getImage(ref).inspect(),
      )
      .catch((error: unknown) => {
        if (error instanceof ImageNotFoundError) return undefined;
        throw error;
      });
    return local ? { where: 'local', repoDigests: local.RepoDigests ?? [] } : { where: 'nowhere' };
  }

  /**
   * A push has no deadline (images are large, links slow), but one that makes no progress for
   * `pushStallMs` is abandoned: a registry that accepts the connection and then stalls must not
   * hold the app's reconcile for ever.
   */
  async pushImage(source: string, target: string): Promise<string> {
    const operation = 'pushImage';
    const auth = await this.credentials(operation, target);
    const repository = repositoryOf(target);
    const tag = tagOf(target);
    const stall = new AbortController();
    let watchdog: NodeJS.Timeout | undefined;
    const progressed = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => stall.abort(), this.pushStallMs);
    };
    try {
      progressed();
      return await this.engine.call(
        {
          operation,
          object: `${source} as ${target}`,
          byStatus: { 404: ImageNotFoundError },
          otherwise: PullError,
          deadlineMs: 0,
        },
        async (docker) => {
          await docker.getImage(source).tag({ repo: repository, tag });
          // The engine insists on an X-Registry-Auth header, empty ({}) for a registry without credentials.
          const stream = await docker.getImage(target).push({ authconfig: auth ?? {}, abortSignal: stall.signal });
          let failure: string | undefined;
          let digest: string | undefined;
          await forEachJsonLine(stream, (line) => {
            progressed();
            const { error, aux } = (line ?? {}) as { error?: unknown; aux?: { Digest?: unknown } };
            if (typeof error === 'string' && error !== '') failure ??= error;
            if (typeof aux?.Digest === 'string') digest = aux.Digest;
          });
          if (stall.signal.aborted) throw new Error('stalled');
          if (failure !== undefined) throw new PullError(operation, `${operation} ${target}: ${failure}`);
          if (digest === undefined)
            throw new PullError(operation, `${operation} ${target}: the registry reported no digest`);
          return `${target}@${digest}`;
        },
      );
    } catch (error) {
      if (stall.signal.aborted)
        throw new PullError(
          operation,
          `${operation} ${target}: no progress from the engine for ${this.pushStallMs / 1000} s (the registry does not answer); abandoned, retried later`,
          { cause: error },
        );
      throw error;
    } finally {
      clearTimeout(watchdog);
    }
  }

  async createService(spec: ServiceSpec, known: ReadonlyMap<string, string> = new Map()): Promise<string> {
    const auth = await this.credentials('createService', spec.image);
    const secretIds = this.secretIds('createService', spec, known);
    return this.engine.call({ operation: 'createService', object: spec.name, env: spec.env }, async (docker) => {
      const modem = (docker as unknown as { modem: Modem }).modem;
      const created = (await dial(modem, {
        path: '/services/create',
        method: 'POST',
        statusCodes: { 200: true, 201: true },
        authconfig: auth,
        options: { _body: toEngineSpec(spec, secretIds) },
      })) as { ID?: string };
      return created.ID ?? '';
    });
  }

  async updateService(
    id: string,
    version: number,
    spec: ServiceSpec,
    known: ReadonlyMap<string, string> = new Map(),
  ): Promise<void> {
    const auth = await this.credentials('updateService', spec.image);
    const secretIds = this.secretIds('updateService', spec, known);
    await this.engine.call({ operation: 'updateService', object: spec.name, env: spec.env }, async (docker) => {
      const modem = (docker as unknown as { modem: Modem }).modem;
      await dial(modem, {
        path: `/services/${encodeURIComponent(id)}/update?`,
        method: 'POST',
        statusCodes: { 200: true },
        authconfig: auth,
        options: { _query: { version }, _body: toEngineSpec(spec, secretIds) },
      });
    });
  }

  async rollbackService(id: string, version: number): Promise<void> {
    await this.engine.call({ operation: 'rollbackService', object: id }, async (docker) => {
      const current = (await docker.getService(id).inspect()) as RawService;
      const modem = (docker as unknown as { modem: Modem }).modem;
      await dial(modem, {
        path: `/services/${encodeURIComponent(id)}/update?`,
        method: 'POST',
        statusCodes: { 200: true },
        options: { _query: { version, rollback: 'previous' }, _body: current.Spec },
      });
    });
  }

  async removeService(id: string): Promise<void> {
    await this.engine
      .call({ operation: 'removeService', object: id, byStatus: { 404: ServiceNotFoundError } }, (docker) =>
        docker.getService(id).remove(),
      )
      .catch((error: unknown) => {
        if (!(error instanceof ServiceNotFoundError)) throw error;
      });
  }

  listSecrets(namespace: string, app?: string): Promise<SecretSummary[]> {
    return this.engine.call(
      { operation: 'listSecrets', object: app === undefined ? namespace : `${namespace}/${app}` },
      async (docker) => {
        const secrets = (await docker.listSecrets({ filters: { label: managedLabels(namespace, app) } })) as {
          ID: string;
          Spec?: { Name?: string; Labels?: Record<string, string> };
        }[];
        return secrets.map((s) => ({ id: s.ID, name: s.Spec?.Name ?? '', app: s.Spec?.Labels?.[LABEL_APP] ?? '' }));
      },
    );
  }

  async createSecret(secret: SecretSpec): Promise<string> {
    const made = await this.engine
      .call(
        { operation: 'createSecret', object: secret.name, byStatus: { 409: NameConflictError } },
        async (docker) =>
          (
            (await docker.createSecret({
              Name: secret.name,
              Labels: secret.labels,
              Data: secret.data.toString('base64'),
            })) as { id?: string }
          ).id,
      )
      .catch((error: unknown) => {
        if (!(error instanceof NameConflictError)) throw error;
        return undefined;
      });
    if (made !== undefined) return made;
    // There already (its name carries the digest of its content): the engine finds a secret by name as by id.
    return this.engine.call(
      { operation: 'inspectSecret', object: secret.name },
      async (docker) => ((await docker.getSecret(secret.name).inspect()) as { ID: string }).ID,
    );
  }

  async removeSecret(id: string): Promise<void> {
    await this.engine
      .call({ operation: 'removeSecret', object: id, byStatus: { 404: SecretNotFoundError } }, (docker) =>
        docker.getSecret(id).remove(),
      )
      .catch((error: unknown) => {
        if (!(error instanceof SecretNotFoundError)) throw error;
      });
  }

  /** The id of each secret the spec mounts, from `secretIds`; one that is missing is an error before the service is sent. */
  private secretIds(
    operation: string,
    spec: ServiceSpec,
    secretIds: ReadonlyMap<string, string>,
  ): ReadonlyMap<string, string> {
    const missing = spec.secrets.find((s) => !secretIds.has(s.name));
    if (missing)
      throw new EngineError(operation, `${operation} ${spec.name}: the Docker secret ${missing.name} is missing`);
    return secretIds;
  }

  private async credentials(operation: string, ref: string) {
    try {
      return await registryCredentials(ref, this.env);
    } catch (error) {
      throw new PullError(operation, `${operation} ${ref}: ${(error as Error).message}`);
    }
  }
}

interface Modem {
  dial(options: Record<string, unknown>, callback: (error: unknown, data: unknown) => void): void;
}

function dial(modem: Modem, options: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve, reject) =>
    modem.dial(options, (error, data) => (error ? reject(error) : resolve(data))),
  );
}

function managedLabels(namespace: string, app?: string): string[] {
  return [
    `${LABEL_MANAGED}=true`,
    `${LABEL_NAMESPACE}=${namespace}`,
    ...(app === undefined ? [] : [`${LABEL_APP}=${app}`]),
  ];
}

/** The Engine API's ServiceSpec for berth's; `secretIds` maps each secret's name to its id. */
function toEngineSpec(spec: ServiceSpec, secretIds: ReadonlyMap<string, string>): Record<string, unknown> {
  const health = spec.healthcheck;
  return {
    Name: spec.name,
    Labels: spec.labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image,
        Labels: spec.labels,
        ...(spec.command ? { Args: spec.command } : {}),
        Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
        Mounts: spec.volumes.map((v) => ({
          Type: v.source.startsWith('/') ? 'bind' : 'volume',
          Source: v.source,
          Target: v.target,
          ReadOnly: v.readOnly,
        })),
        // Readable by any user in the task, as on one host; the target may be an absolute path.
        Secrets: spec.secrets.map((s) => ({
          SecretID: secretIds.get(s.name),
          SecretName: s.name,
          File: { Name: s.target, UID: '0', GID: '0', Mode: 0o444 },
        })),
        StopGracePeriod: spec.stopGracePeriodMs * NANOS_PER_MS,
        ...(health
          ? {
              Healthcheck: {
                Test: health.test,
                Interval: health.intervalMs * NANOS_PER_MS,
                Timeout: health.timeoutMs * NANOS_PER_MS,
                Retries: health.retries,
                StartPeriod: health.startPeriodMs * NANOS_PER_MS,
              },
            }
          : {}),
      },
      Resources: {
        Limits: {
          ...(spec.resources.memory !== undefined ? { MemoryBytes: parseMemorySize(spec.resources.memory) } : {}),
          ...(spec.resources.cpus !== undefined ? { NanoCPUs: Math.round(spec.resources.cpus * 1e9) } : {}),
        },
      },
      RestartPolicy: { Condition: 'any', Delay: 1_000 * NANOS_PER_MS },
    },
    Mode: { Replicated: { Replicas: spec.replicas } },
    UpdateConfig: {
      Parallelism: 1,
      Order: spec.update.order,
      FailureAction: 'rollback',
      Monitor: spec.update.monitorMs * NANOS_PER_MS,
      MaxFailureRatio: 0,
    },
    RollbackConfig: {
      Parallelism: 0,
      Order: spec.update.order,
      FailureAction: 'pause',
      Monitor: spec.update.monitorMs * NANOS_PER_MS,
    },
    EndpointSpec: {
      Mode: 'dnsrr',
      Ports: spec.ports.map((p) => ({
        Protocol: p.protocol,
        TargetPort: p.target,
        ...(p.published !== undefined ? { PublishedPort: p.published } : {}),
        PublishMode: 'host',
      })),
    },
  };
}

interface RawService {
  ID: string;
  Version?: { Index?: number };
  Spec: {
    Name?: string;
    Labels?: Record<string, string>;
    TaskTemplate?: RawTaskTemplate;
    Mode?: { Replicated?: { Replicas?: number } };
  };
  PreviousSpec?: { Labels?: Record<string, string>; TaskTemplate?: RawTaskTemplate };
  UpdateStatus?: { State?: string; Message?: string; StartedAt?: string };
}

interface RawTaskTemplate {
  ContainerSpec?: { Image?: string; Secrets?: { SecretName?: string }[] };
}

interface RawTask {
  ID: string;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState?: string;
  CreatedAt?: string;
  Spec?: { ContainerSpec?: { Labels?: Record<string, string> } };
  Status?: {
    State?: string;
    Message?: string;
    Err?: string;
    PortStatus?: { Ports?: { Protocol?: string; TargetPort?: number; PublishedPort?: number }[] };
  };
}

function serviceSummaryOf(raw: RawService): ServiceSummary {
  const labels = raw.Spec.Labels ?? {};
  const state = (raw.UpdateStatus?.State ?? 'none') as UpdateState;
  const startedAt = raw.UpdateStatus?.StartedAt ? Date.parse(raw.UpdateStatus.StartedAt) : undefined;
  const previous = raw.PreviousSpec?.Labels?.[LABEL_SPEC_HASH];
  return {
    id: raw.ID,
    name: raw.Spec.Name ?? '',
    app: labels[LABEL_APP] ?? '',
    version: raw.Version?.Index ?? 0,
    specHash: labels[LABEL_SPEC_HASH] ?? '',
    serviceHash: labels[LABEL_SERVICE_HASH] ?? '',
    image: raw.Spec.TaskTemplate?.ContainerSpec?.Image ?? '',
    replicas: raw.Spec.Mode?.Replicated?.Replicas ?? 0,
    update: {
      state,
      message: raw.UpdateStatus?.Message ?? '',
      ...(startedAt !== undefined && !Number.isNaN(startedAt) ? { startedAt } : {}),
    },
    ...(previous !== undefined ? { previousSpecHash: previous } : {}),
    secretNames: [raw.Spec.TaskTemplate, raw.PreviousSpec?.TaskTemplate].flatMap((t) =>
      (t?.ContainerSpec?.Secrets ?? []).map((s) => s.SecretName ?? ''),
    ),
  };
}

function taskSummaryOf(raw: RawTask): TaskSummary {
  const labels = raw.Spec?.ContainerSpec?.Labels ?? {};
  return {
    id: raw.ID,
    serviceId: raw.ServiceID,
    app: labels[LABEL_APP] ?? '',
    slot: raw.Slot ?? 0,
    nodeId: raw.NodeID ?? '',
    state: (raw.Status?.State ?? 'new') as TaskState,
    desiredState: raw.DesiredState ?? '',
    specHash: labels[LABEL_SPEC_HASH] ?? '',
    message: raw.Status?.Message ?? '',
    error: raw.Status?.Err ?? '',
    ports: (raw.Status?.PortStatus?.Ports ?? []).map((p) => ({
      target: p.TargetPort ?? 0,
      published: p.PublishedPort ?? 0,
      protocol: p.Protocol === 'udp' ? 'udp' : 'tcp',
    })),
    createdAt: raw.CreatedAt ? Date.parse(raw.CreatedAt) : 0,
  };
}
