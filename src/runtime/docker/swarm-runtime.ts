import type { IncomingMessage } from 'node:http';
import type Docker from 'dockerode';
import { repositoryOf, tagOf } from '../../manifest/image-ref.js';
import { containerText, OutputTail } from '../container-output.js';
import { forEachJsonLine } from './json-lines.js';
import { LogFrameDemuxer } from './log-frames.js';
import {
  EngineError,
  ImageNotFoundError,
  NameConflictError,
  PullError,
  SecretNotFoundError,
  ServiceNotFoundError,
} from '../errors.js';
import {
  LABEL_APP,
  LABEL_MANAGED,
  LABEL_NAMESPACE,
  LABEL_REVISION,
  LABEL_ROLE,
  LABEL_SERVICE_HASH,
  LABEL_SPEC_HASH,
} from '../types.js';
import type {
  ImageLocation,
  JobSpec,
  JobSummary,
  NodeSummary,
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
import { statusCodeOf } from './map-error.js';
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
        return services.filter((s) => !isJob(s)).map(serviceSummaryOf);
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
        return tasks.filter((t) => t.Spec?.ContainerSpec?.Labels?.[LABEL_ROLE] === undefined).map(taskSummaryOf);
      },
    );
  }

  listNodes(): Promise<NodeSummary[]> {
    return this.engine.call({ operation: 'listNodes', object: 'swarm' }, async (docker) => {
      const nodes = (await docker.listNodes()) as {
        ID: string;
        Description?: { Hostname?: string };
        Status?: { Addr?: string };
        ManagerStatus?: { Addr?: string };
      }[];
      // A manager may report 0.0.0.0 as its status address; its manager address names the host it advertises.
      return nodes.map((n) => {
        const status = n.Status?.Addr ?? '';
        const addr =
          status !== '' && status !== '0.0.0.0' ? status : (n.ManagerStatus?.Addr ?? '').replace(/:\d+$/, '');
        return { id: n.ID, addr, hostname: n.Description?.Hostname ?? '' };
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

  async labelService(id: string, version: number, labels: Readonly<Record<string, string | undefined>>): Promise<void> {
    await this.engine.call({ operation: 'labelService', object: id }, async (docker) => {
      const current = (await docker.getService(id).inspect()) as RawService;
      const merged: Record<string, string> = { ...current.Spec.Labels };
      for (const [key, value] of Object.entries(labels)) {
        if (value === undefined) delete merged[key];
        else merged[key] = value;
      }
      const modem = (docker as unknown as { modem: Modem }).modem;
      // The service's labels alone: its task template (and so every task) stays as it is.
      await dial(modem, {
        path: `/services/${encodeURIComponent(id)}/update?`,
        method: 'POST',
        statusCodes: { 200: true },
        options: { _query: { version }, _body: { ...current.Spec, Labels: merged } },
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

  async createJob(spec: JobSpec, known: ReadonlyMap<string, string> = new Map()): Promise<string> {
    const operation = 'createJob';
    const auth = await this.credentials(operation, spec.image);
    const secretIds = this.secretIds(operation, spec, known);
    return this.engine.call(
      { operation, object: spec.name, env: spec.env, byStatus: { 409: NameConflictError } },
      async (docker) => {
        const modem = (docker as unknown as { modem: Modem }).modem;
        const spoken = modem.version ?? '';
        if (!speaksAtLeast(spoken, JOBS_API))
          throw new EngineError(
            operation,
            `${operation} ${spec.name}: Swarm jobs need Engine API ${JOBS_API.join('.')} (Docker 20.10); this engine speaks ${spoken.replace(/^v/, '') || 'an unknown version'}`,
          );
        const created = (await dial(modem, {
          path: '/services/create',
          method: 'POST',
          statusCodes: { 200: true, 201: true, 409: 'name conflicts with an existing object' },
          authconfig: auth,
          options: { _body: toEngineJob(spec, secretIds) },
        })) as { ID?: string };
        const id = created.ID ?? '';
        // An engine that does not know the mode would run the command as a service, restarted for ever.
        const made = (await docker.getService(id).inspect()) as RawService;
        if (!isJob(made) || made.Spec.Mode?.ReplicatedJob === undefined) {
          await docker
            .getService(id)
            .remove()
            .catch(() => undefined);
          throw new EngineError(
            operation,
            `${operation} ${spec.name}: the engine made a service of another mode (${Object.keys(made.Spec.Mode ?? {}).join(', ') || 'none'}), not a replicated job; removed`,
          );
        }
        return id;
      },
    );
  }

  listJobs(namespace: string, app?: string): Promise<JobSummary[]> {
    return this.engine.call(
      {
        operation: 'listJobs',
        object: app === undefined ? namespace : `${namespace}/${app}`,
        deadlineMs: READ_DEADLINE_MS,
      },
      async (docker) => {
        const label = [...managedLabels(namespace, app), LABEL_ROLE];
        const [services, tasks] = await Promise.all([
          docker.listServices({ filters: { label } }) as unknown as Promise<RawService[]>,
          docker.listTasks({ filters: { label } }) as unknown as Promise<RawTask[]>,
        ]);
        return services.filter(isJob).map((job) =>
          jobSummaryOf(
            job,
            tasks.filter((t) => t.ServiceID === job.ID),
          ),
        );
      },
    );
  }

  jobLogs(id: string, secrets: readonly string[]): Promise<string> {
    return this.engine.call(
      { operation: 'jobLogs', object: id, byStatus: { 404: ServiceNotFoundError }, deadlineMs: READ_DEADLINE_MS },
      async (docker) => {
        const modem = (docker as unknown as { modem: Modem }).modem;
        const stream = (await dial(modem, {
          path: `/services/${encodeURIComponent(id)}/logs?`,
          method: 'GET',
          isStream: true,
          statusCodes: { 200: true, 404: 'no such service', 500: 'server error', 503: 'node is not part of a swarm' },
          options: { stdout: true, stderr: true },
        })) as IncomingMessage;
        const output = new OutputTail();
        await readFrames(stream, output);
        return containerText(output.bytes(), output.dropped, secrets);
      },
    );
  }

  /**
   * Swarm before Docker 24 (Engine API 1.43) forgets a removed job's tasks (moby/moby#44312): a
   * task still running runs on, and every task's container stays on its node. So there, a task
   * still running is stopped first, by a new iteration of the job that asks for no completion
   * (Swarm stops and removes the tasks of an earlier iteration that have not ended), and after the
   * removal the containers of its tasks on this engine's node are removed too. Those of tasks
   * that ended on other nodes stay there (`docker container prune` on that node).
   */
  async removeJob(id: string): Promise<void> {
    await this.engine.call({ operation: 'removeJob', object: id }, async (docker) => {
      const modem = (docker as unknown as { modem: Modem }).modem;
      const reaped = speaksAtLeast(modem.version ?? '', JOBS_REAPED_API);
      const tasks = reaped ? [] : ((await docker.listTasks({ filters: { service: [id] } })) as unknown as RawTask[]);
      try {
        if (
          tasks.some((t) =>
            ['new', 'pending', 'assigned', 'accepted', 'preparing', 'ready', 'starting', 'running'].includes(
              t.Status?.State ?? '',
            ),
          )
        )
          await stopJobTasks(docker, modem, id);
        await docker.getService(id).remove();
      } catch (error) {
        // Gone already: nothing to remove.
        if (statusCodeOf(error) !== 404) throw error;
      }
      for (const task of tasks) {
        const container = task.Status?.ContainerStatus?.ContainerID;
        // Another node's container is no container of this engine's (404).
        if (container)
          await docker
            .getContainer(container)
            .remove({ force: true, v: false })
            .catch(() => undefined);
      }
    });
  }

  /** The id of each secret the spec mounts, from `secretIds`; one that is missing is an error before the service is sent. */
  private secretIds(
    operation: string,
    spec: Pick<ServiceSpec, 'name' | 'secrets'>,
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
  /** The API version requests are sent with (`v1.41`), as the engine client negotiated it. */
  version?: string;
  dial(options: Record<string, unknown>, callback: (error: unknown, data: unknown) => void): void;
}

/** The Engine API version that brought Swarm jobs (Docker 20.10). */
const JOBS_API = [1, 41] as const;

/** The Engine API version of Docker 24, whose Swarm removes a removed job's tasks (moby/swarmkit#3112). */
const JOBS_REAPED_API = [1, 43] as const;

/**
 * Stops the tasks of job `id` that have not ended: an update to a job starts a new iteration of
 * it, and Swarm stops and removes the earlier iteration's tasks wherever they run; this iteration
 * asks for no completion, so no task starts.
 */
async function stopJobTasks(docker: Docker, modem: Modem, id: string): Promise<void> {
  const current = (await docker.getService(id).inspect()) as RawService;
  await dial(modem, {
    path: `/services/${encodeURIComponent(id)}/update?`,
    method: 'POST',
    statusCodes: { 200: true, 404: 'no such service' },
    options: {
      _query: { version: current.Version?.Index ?? 0 },
      _body: { ...current.Spec, Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 0 } } },
    },
  });
}

/** How long a listing or a finished job's log may take. */
const READ_DEADLINE_MS = 30_000;

/** Whether `version` (`v1.41`, `1.44`) is at least `[major, minor]`. */
function speaksAtLeast(version: string, [major, minor]: readonly [number, number]): boolean {
  const match = /^v?(\d+)\.(\d+)$/.exec(version);
  if (!match) return false;
  const [spokenMajor, spokenMinor] = [Number(match[1]), Number(match[2])];
  return spokenMajor > major || (spokenMajor === major && spokenMinor >= minor);
}

/**
 * Reads a service's log stream to its end into `output`, demultiplexed from the engine's frames
 * (a job runs without a TTY): only the tail's fixed buffer holds what the task wrote.
 */
function readFrames(stream: IncomingMessage, output: OutputTail): Promise<void> {
  const demuxer = new LogFrameDemuxer((payload) => output.push(payload));
  return new Promise((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => demuxer.push(chunk));
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', reject);
  });
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
/**
 * The labels of a service's task containers: the service's, less the service hash. That hash
 * covers the replica count and update settings, and any change to the task template makes Swarm
 * replace every task: a replica change must move no task to a new revision.
 */
function taskLabels(labels: Record<string, string>): Record<string, string> {
  const { [LABEL_SERVICE_HASH]: _serviceHash, ...task } = labels;
  return task;
}

function toEngineSpec(spec: ServiceSpec, secretIds: ReadonlyMap<string, string>): Record<string, unknown> {
  const health = spec.healthcheck;
  return {
    Name: spec.name,
    Labels: spec.labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image,
        Labels: taskLabels(spec.labels),
        ...(spec.command ? { Args: spec.command } : {}),
        ...containerBasics(spec, secretIds),
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
      Resources: resourcesOf(spec),
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

/**
 * The Engine API's spec of a job: one task (`ReplicatedJob`, one completion, one at a time) that is
 * never restarted (a job's default restart policy is on-failure without limit), no ports.
 */
function toEngineJob(spec: JobSpec, secretIds: ReadonlyMap<string, string>): Record<string, unknown> {
  return {
    Name: spec.name,
    Labels: spec.labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.image,
        Labels: spec.labels,
        Args: spec.command,
        ...containerBasics(spec, secretIds),
      },
      Resources: resourcesOf(spec),
      RestartPolicy: { Condition: 'none' },
    },
    Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
  };
}

/** The env, mounts and Docker secrets of a task's container. */
function containerBasics(
  spec: Pick<ServiceSpec, 'env' | 'volumes' | 'secrets'>,
  secretIds: ReadonlyMap<string, string>,
): Record<string, unknown> {
  return {
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
  };
}

function resourcesOf(spec: Pick<ServiceSpec, 'resources'>): Record<string, unknown> {
  return {
    Limits: {
      ...(spec.resources.memory !== undefined ? { MemoryBytes: parseMemorySize(spec.resources.memory) } : {}),
      ...(spec.resources.cpus !== undefined ? { NanoCPUs: Math.round(spec.resources.cpus * 1e9) } : {}),
    },
  };
}

/** A job berth made: its berth.role label says so (a service of berth's has none). */
function isJob(raw: RawService): boolean {
  return raw.Spec.Labels?.[LABEL_ROLE] !== undefined;
}

interface RawService {
  ID: string;
  Version?: { Index?: number };
  Spec: {
    Name?: string;
    Labels?: Record<string, string>;
    TaskTemplate?: RawTaskTemplate;
    Mode?: {
      Replicated?: { Replicas?: number };
      ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
    };
  };
  CreatedAt?: string;
  PreviousSpec?: { Labels?: Record<string, string>; TaskTemplate?: RawTaskTemplate };
  UpdateStatus?: { State?: string; Message?: string; StartedAt?: string; CompletedAt?: string };
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
  Spec?: { ContainerSpec?: { Image?: string; Labels?: Record<string, string> } };
  Status?: {
    State?: string;
    Message?: string;
    Err?: string;
    Timestamp?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
    PortStatus?: { Ports?: { Protocol?: string; TargetPort?: number; PublishedPort?: number }[] };
  };
}

function serviceSummaryOf(raw: RawService): ServiceSummary {
  const labels = raw.Spec.Labels ?? {};
  const state = (raw.UpdateStatus?.State ?? 'none') as UpdateState;
  const startedAt = raw.UpdateStatus?.StartedAt ? Date.parse(raw.UpdateStatus.StartedAt) : undefined;
  const previous = raw.PreviousSpec?.Labels?.[LABEL_SPEC_HASH];
  const completedAt = raw.UpdateStatus?.CompletedAt ? Date.parse(raw.UpdateStatus.CompletedAt) : undefined;
  const previousServiceHash = raw.PreviousSpec?.Labels?.[LABEL_SERVICE_HASH];
  const previousImage = raw.PreviousSpec?.TaskTemplate?.ContainerSpec?.Image;
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
      ...(completedAt !== undefined && !Number.isNaN(completedAt) ? { completedAt } : {}),
    },
    ...(previous !== undefined ? { previousSpecHash: previous } : {}),
    ...(previousServiceHash !== undefined ? { previousServiceHash } : {}),
    ...(previousImage !== undefined ? { previousImage } : {}),
    labels,
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
    image: raw.Spec?.ContainerSpec?.Image ?? '',
  };
}

/** A job and its task (the newest, should Swarm have made more than one). */
function jobSummaryOf(raw: RawService, tasks: readonly RawTask[]): JobSummary {
  const labels = raw.Spec.Labels ?? {};
  const [task] = [...tasks].sort((a, b) => timeOf(b.CreatedAt) - timeOf(a.CreatedAt));
  const state = (task?.Status?.State ?? 'new') as TaskState;
  // An exit code only from a container that ran and ended (a rejected task never had one).
  const container = task?.Status?.ContainerStatus;
  const exitCode =
    (state === 'complete' || state === 'failed') && container?.ContainerID ? container.ExitCode : undefined;
  return {
    id: raw.ID,
    name: raw.Spec.Name ?? '',
    app: labels[LABEL_APP] ?? '',
    role: labels[LABEL_ROLE] ?? '',
    revision: labels[LABEL_REVISION] ?? '',
    createdAt: timeOf(raw.CreatedAt),
    state,
    startedAt: state === 'running' ? timeOf(task?.Status?.Timestamp) : 0,
    ...(typeof exitCode === 'number' ? { exitCode } : {}),
    error: task?.Status?.Err ?? '',
    nodeId: task?.NodeID ?? '',
  };
}

function timeOf(text: string | undefined): number {
  const at = text ? Date.parse(text) : Number.NaN;
  return Number.isNaN(at) ? 0 : at;
}
