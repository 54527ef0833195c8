/**
 * The Runtime on a Docker engine, through dockerode (the only code in berth that imports it).
 * The engine is the one DOCKER_HOST names, as Docker's own clients read it (see ./docker-host.ts),
 * or `options.dockerHost`; the API version is negotiated with it (see ./engine-client.ts).
 * Every rejection is a RuntimeError subclass with a one-line `<operation> <object>: <reason>`
 * message that never holds an env value.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import {
  ContainerNotFoundError,
  EngineUnavailableError,
  ImageNotFoundError,
  NameConflictError,
  NotManagedError,
  PullError,
} from '../errors.js';
import {
  LABEL_APP,
  LABEL_MANAGED,
  LABEL_NAMESPACE,
  LABEL_ROLE,
  type ContainerCreateSpec,
  type ContainerDetail,
  type ContainerSummary,
  type EngineInfo,
  type EventSubscription,
  type ExecResult,
  type ImageInfo,
  type Runtime,
  type RuntimeEvent,
} from '../types.js';
import { toCreateOptions } from './create-options.js';
import { DEADLINES_MS, EngineClient, type CallContext } from './engine-client.js';
import { runtimeEventOf } from './engine-events.js';
import { containerDetailOf, containerSummaryOf, imageInfoOfInspect, imageInfoOfListEntry } from './engine-views.js';
import { forEachJsonLine } from './json-lines.js';
import { LogFrameDemuxer } from './log-frames.js';
import { containerText, OutputTail } from '../container-output.js';
import { oneLine, statusCodeOf } from './map-error.js';
import { authFailure, registryCredentials } from './registry-auth.js';
import { shortId } from '../../util/short-id.js';
import { repositoryOf } from '../../manifest/image-ref.js';

interface DockerRuntimeOptions {
  /** Overrides DOCKER_HOST: `unix:///path` or `tcp://host:port`. */
  dockerHost?: string;
  /** A pull with no progress from the engine for this long is abandoned (PullError); default 120 s. */
  pullStallMs?: number;
  /** Deadlines by operation, over DEADLINES_MS (tests shorten them). */
  deadlinesMs?: Readonly<Record<string, number>>;
}

const DEFAULT_PULL_STALL_MS = 120_000;

export function createDockerRuntime(options: DockerRuntimeOptions = {}): Runtime {
  return new DockerRuntime(
    new EngineClient(options.dockerHost ?? process.env.DOCKER_HOST, process.env, options.deadlinesMs),
    process.env,
    options.pullStallMs ?? DEFAULT_PULL_STALL_MS,
  );
}

const NOT_MODIFIED = 304;
const ON_CONTAINER = { 404: ContainerNotFoundError } as const;
const ON_IMAGE = { 404: ImageNotFoundError } as const;

class DockerRuntime implements Runtime {
  constructor(
    private readonly engine: EngineClient,
    private readonly env: Record<string, string | undefined>,
    private readonly pullStallMs: number,
  ) {}

  ping(): Promise<EngineInfo> {
    return this.engine.negotiate('ping');
  }

  listContainers(namespace: string, app?: string): Promise<ContainerSummary[]> {
    const label = [
      `${LABEL_MANAGED}=true`,
      `${LABEL_NAMESPACE}=${namespace}`,
      ...(app === undefined ? [] : [`${LABEL_APP}=${app}`]),
    ];
    const context = { operation: 'listContainers', object: app === undefined ? namespace : `${namespace}/${app}` };
    return this.engine.call(context, async (docker) => {
      const entries = await docker.listContainers({ all: true, filters: { label } });
      return entries.filter((entry) => entry.Labels?.[LABEL_ROLE] === undefined).map(containerSummaryOf);
    });
  }

  listRoleContainers(namespace: string, app: string, role: string): Promise<ContainerSummary[]> {
    const label = [
      `${LABEL_MANAGED}=true`,
      `${LABEL_NAMESPACE}=${namespace}`,
      `${LABEL_APP}=${app}`,
      `${LABEL_ROLE}=${role}`,
    ];
    return this.engine.call({ operation: 'listContainers', object: `${namespace}/${app} ${role}` }, async (docker) => {
      const entries = await docker.listContainers({ all: true, filters: { label } });
      return entries.map(containerSummaryOf);
    });
  }

  inspectContainer(id: string): Promise<ContainerDetail> {
    const context = { operation: 'inspectContainer', object: shortId(id), byStatus: ON_CONTAINER };
    return this.engine.call(context, async (docker) => containerDetailOf(await docker.getContainer(id).inspect()));
  }

  createContainer(spec: ContainerCreateSpec): Promise<string> {
    const context = {
      operation: 'createContainer',
      object: spec.name,
      byStatus: { 404: ImageNotFoundError, 409: NameConflictError },
      env: spec.env,
    };
    return this.engine.call(context, async (docker) => (await docker.createContainer(toCreateOptions(spec))).id);
  }

  startContainer(id: string): Promise<void> {
    const context = { operation: 'startContainer', object: shortId(id), byStatus: ON_CONTAINER };
    return this.engine.call(context, async (docker) => {
      await ignoringStatus(NOT_MODIFIED, docker.getContainer(id).start());
    });
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    const operation = 'stopContainer';
    const managedId = await this.managedContainerId(operation, id);
    const t = Math.max(0, Math.round(timeoutSeconds));
    // The engine waits out the stop timeout before it answers: the deadline starts after it.
    await this.engine.call(
      { operation, object: shortId(id), byStatus: ON_CONTAINER, deadlineMs: t * 1000 + DEADLINES_MS.stopContainer! },
      async (docker) => {
        await ignoringStatus(NOT_MODIFIED, docker.getContainer(managedId).stop({ t }));
      },
    );
  }

  async removeContainer(id: string): Promise<void> {
    const operation = 'removeContainer';
    try {
      const managedId = await this.managedContainerId(operation, id);
      // Named volumes are data: `v: false` keeps them.
      await this.engine.call({ operation, object: shortId(id), byStatus: ON_CONTAINER }, (docker) =>
        docker.getContainer(managedId).remove({ force: true, v: false }),
      );
    } catch (error) {
      if (!(error instanceof ContainerNotFoundError)) throw error;
    }
  }

  containerLogs(id: string, tail: number, secrets: readonly string[]): Promise<string> {
    const context = { operation: 'containerLogs', object: shortId(id), byStatus: ON_CONTAINER };
    return this.engine.call(context, async (docker) => {
      const { Config } = await docker.getContainer(id).inspect();
      const stream = await dialStream(docker, {
        path: `/containers/${encodeURIComponent(id)}/logs?`,
        options: { stdout: true, stderr: true, tail: String(Math.max(0, Math.floor(tail))) },
      });
      const output = new OutputTail();
      await readBounded(stream, output, { framed: !Config.Tty });
      return containerText(output.bytes(), output.dropped, secrets);
    });
  }

  execInContainer(id: string, command: string[], timeoutMs: number, secrets: readonly string[]): Promise<ExecResult> {
    const context = {
      operation: 'execInContainer',
      object: shortId(id),
      byStatus: ON_CONTAINER,
      deadlineMs: timeoutMs + DEADLINES_MS.execInContainer!,
    };
    return this.engine.call(context, async (docker) => {
      const exec = await docker.getContainer(id).exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
      const stream = (await exec.start({ hijack: true, stdin: false })) as Readable;
      const tail = new OutputTail();
      const { ended } = await readBounded(stream, tail, { framed: true, timeoutMs });
      const output = containerText(tail.bytes(), tail.dropped, secrets);
      if (!ended) return { outcome: 'timed-out', output };
      return { outcome: 'exited', exitCode: await exitCodeOf(exec), output };
    });
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    try {
      return await this.engine.call({ operation: 'inspectImage', object: ref, byStatus: ON_IMAGE }, async (docker) =>
        imageInfoOfInspect(await docker.getImage(ref).inspect()),
      );
    } catch (error) {
      if (error instanceof ImageNotFoundError) return undefined;
      throw error;
    }
  }

  listImages(repository?: string): Promise<ImageInfo[]> {
    return this.engine.call({ operation: 'listImages', object: repository ?? 'all images' }, async (docker) => {
      if (repository === undefined) return (await docker.listImages()).map(imageInfoOfListEntry);
      const entries = await docker.listImages({ filters: { reference: [repository] } });
      return entries
        .map(imageInfoOfListEntry)
        .filter((image) => image.repoTags.some((ref) => repositoryOf(ref) === repository));
    });
  }

  async pullImage(ref: string, signal?: AbortSignal): Promise<void> {
    const operation = 'pullImage';
    const reference = withTagOrDigest(ref);
    const aborted = (): PullError =>
      new PullError(operation, `${operation} ${ref}: aborted`, { cause: signal?.reason });
    if (signal?.aborted) throw aborted();

    let auth: Awaited<ReturnType<typeof registryCredentials>>;
    try {
      auth = await registryCredentials(reference, this.env);
    } catch (error) {
      throw new PullError(operation, `${operation} ${ref}: ${oneLine((error as Error).message)}`);
    }

    // A pull has no deadline (images are large, links slow); one that makes no progress is abandoned.
    const context: CallContext = { operation, object: ref, otherwise: PullError, deadlineMs: 0 };
    const stall = new AbortController();
    let watchdog: NodeJS.Timeout | undefined;
    const progressed = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => stall.abort(), this.pullStallMs);
    };
    try {
      progressed();
      await this.engine.call(context, async (docker) => {
        const options = {
          fromImage: reference,
          abortSignal: signal ? AbortSignal.any([signal, stall.signal]) : stall.signal,
        };
        const stream = await (auth ? docker.createImage(auth, options) : docker.createImage(options));
        let failure: string | undefined;
        await forEachJsonLine(stream, (line) => {
          progressed();
          failure ??= pullFailureOf(line);
        });
        // The engine reports most pull failures inside its 200 progress stream.
        if (failure !== undefined) throw new PullError(operation, `${operation} ${ref}: ${oneLine(failure)}`);
      });
    } catch (error) {
      if (signal?.aborted) throw aborted();
      if (stall.signal.aborted)
        throw new PullError(
          operation,
          `${operation} ${ref}: no progress from the engine for ${this.pullStallMs / 1000} s (the registry does not answer); abandoned, retried later`,
          { cause: error },
        );
      throw this.inBerthsWords(error, operation, reference, auth !== undefined);
    } finally {
      clearTimeout(watchdog);
    }
  }

  async inspectRemoteImage(ref: string): Promise<{ digest: string } | undefined> {
    const operation = 'inspectRemoteImage';
    const reference = withTagOrDigest(ref);
    let auth: Awaited<ReturnType<typeof registryCredentials>>;
    try {
      auth = await registryCredentials(reference, this.env);
    } catch (error) {
      throw new PullError(operation, `${operation} ${ref}: ${oneLine((error as Error).message)}`);
    }
    try {
      const context: CallContext = { operation, object: ref, byStatus: ON_IMAGE, otherwise: PullError };
      const answer = (await this.engine.call(context, (docker) =>
        docker.getImage(reference).distribution(auth ? { authconfig: auth } : {}),
      )) as {
        Descriptor?: { digest?: unknown };
      };
      const digest = answer.Descriptor?.digest;
      if (typeof digest !== 'string')
        throw new PullError(operation, `${operation} ${ref}: the engine's answer holds no digest`);
      return { digest };
    } catch (error) {
      if (error instanceof ImageNotFoundError) return undefined;
      throw this.inBerthsWords(error, operation, reference, auth !== undefined);
    }
  }

  /** A registry's authentication failure as berth says it (see authFailure); any other error as it is. */
  private inBerthsWords(error: unknown, operation: string, reference: string, credentialsSent: boolean): unknown {
    if (!(error instanceof Error)) return error;
    const words = authFailure(error.message, reference, credentialsSent, this.env);
    return words === undefined ? error : new PullError(operation, words, { cause: error });
  }

  tagImage(source: string, repository: string, tag: string): Promise<void> {
    const context = { operation: 'tagImage', object: `${source} as ${repository}:${tag}`, byStatus: ON_IMAGE };
    return this.engine.call(context, async (docker) => {
      await docker.getImage(source).tag({ repo: repository, tag });
    });
  }

  async untagImage(ref: string): Promise<void> {
    try {
      // noprune: the untagged image's parent layers stay; another tag of the image keeps the image itself.
      await this.engine.call({ operation: 'untagImage', object: ref, byStatus: ON_IMAGE }, (docker) =>
        docker.getImage(ref).remove({ noprune: true }),
      );
    } catch (error) {
      if (!(error instanceof ImageNotFoundError)) throw error;
    }
  }

  /** Past `die` events only: with `until` set, the engine sends what it logged and ends the stream. */
  lastExitCode(id: string, sinceMs: number): Promise<number | undefined> {
    const context = { operation: 'lastExitCode', object: shortId(id) };
    return this.engine.call(context, async (docker) => {
      // dockerode's types say number; the engine also takes the CLI's exact `seconds.nanoseconds`.
      const stream = (await docker.getEvents({
        since: engineTimestamp(sinceMs) as unknown as number,
        until: engineTimestamp(Date.now()) as unknown as number,
        filters: { type: ['container'], container: [id], event: ['die'] },
      })) as Readable;
      let exitCode: number | undefined;
      await forEachJsonLine(stream, (value) => {
        const code = Number(
          (value as { Actor?: { Attributes?: { exitCode?: unknown } } })?.Actor?.Attributes?.exitCode,
        );
        if (Number.isInteger(code)) exitCode = code;
      });
      return exitCode;
    });
  }

  /**
   * One stream of container and image events. Docker's events filter cannot select "containers with
   * these labels, or any image" (filters of different keys are ANDed, and image events carry no
   * labels), so the stream asks for both types and runtimeEventOf keeps the namespace's managed
   * containers. One stream means one connection that lives or dies as a whole. `since` = now replays
   * what happened between the engine's response headers and its subscription.
   */
  async subscribe(
    namespace: string,
    onEvent: (event: RuntimeEvent) => void,
    onError: (error: Error) => void,
  ): Promise<EventSubscription> {
    const operation = 'subscribe';
    const object = `events of ${namespace}`;
    const stream = (await this.engine.call({ operation, object }, (docker) =>
      docker.getEvents({ since: Math.floor(Date.now() / 1000), filters: { type: ['container', 'image'] } }),
    )) as Readable;

    let closed = false;
    let subscriberError: unknown;
    const deliver = (value: unknown): void => {
      const event = closed ? undefined : runtimeEventOf(value, namespace);
      if (event === undefined) return;
      try {
        onEvent(event);
      } catch (error) {
        subscriberError = error;
        throw error;
      }
    };
    const ended = (reason: string, cause?: unknown): void => {
      if (closed) return;
      closed = true;
      stream.destroy();
      onError(
        subscriberError instanceof Error
          ? subscriberError
          : new EngineUnavailableError(
              operation,
              `${operation} ${object}: the engine's event stream ended (${reason})`,
              { cause },
            ),
      );
    };
    forEachJsonLine(stream, deliver).then(
      () => ended('closed by the engine'),
      (error: unknown) => ended(oneLine(error instanceof Error ? error.message : String(error)), error),
    );

    return {
      close(): void {
        closed = true;
        stream.destroy();
      },
    };
  }

  /** The full id of container `id`, after refusing it unless it carries `berth.managed=true`. */
  private async managedContainerId(operation: string, id: string): Promise<string> {
    const detail = await this.engine.call({ operation, object: shortId(id), byStatus: ON_CONTAINER }, (docker) =>
      docker.getContainer(id).inspect(),
    );
    if (detail.Config?.Labels?.[LABEL_MANAGED] !== 'true') {
      throw new NotManagedError(
        operation,
        `${operation} ${detail.Name.replace(/^\//, '')}: not managed by berth (no label ${LABEL_MANAGED}=true), refusing to touch it`,
      );
    }
    return detail.Id;
  }
}

/** 64-hex container ids shortened the way `docker ps` shows them; names as given. */

/** The engine's `seconds.nanoseconds` form of a time in ms since the epoch. */
function engineTimestamp(ms: number): string {
  return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1_000_000).padStart(9, '0')}`;
}

/** A reference without tag or digest would make the engine pull every tag; Docker's CLI means `:latest`. */
function withTagOrDigest(ref: string): string {
  const lastComponent = ref.slice(ref.lastIndexOf('/') + 1);
  return lastComponent.includes(':') || lastComponent.includes('@') ? ref : `${ref}:latest`;
}

function pullFailureOf(line: unknown): string | undefined {
  const { error, errorDetail } = (line ?? {}) as { error?: unknown; errorDetail?: { message?: unknown } };
  if (typeof errorDetail?.message === 'string' && errorDetail.message !== '') return errorDetail.message;
  return typeof error === 'string' && error !== '' ? error : undefined;
}

async function ignoringStatus(statusCode: number, request: Promise<unknown>): Promise<void> {
  try {
    await request;
  } catch (error) {
    if (statusCodeOf(error) !== statusCode) throw error;
  }
}

function dialStream(
  docker: Docker,
  request: { path: string; options: Record<string, string | boolean> },
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      {
        ...request,
        method: 'GET',
        isStream: true,
        statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
      },
      (error, response) => (error ? reject(error) : resolve(response as IncomingMessage)),
    );
  });
}

/**
 * Reads `stream` to its end, or until `timeoutMs` passed (then it is destroyed), into `output`:
 * demultiplexed from the engine's frames when `framed` (no TTY), else as it comes. Nothing but
 * the tail's fixed buffer holds what the container sends: a flood costs time, not memory.
 */
function readBounded(
  stream: Readable,
  output: OutputTail,
  options: { framed: boolean; timeoutMs?: number },
): Promise<{ ended: boolean }> {
  const { timeoutMs } = options;
  const demuxer = options.framed ? new LogFrameDemuxer((payload) => output.push(payload)) : undefined;
  return new Promise((resolve, reject) => {
    const finish = (ended: boolean) => {
      clearTimeout(timer);
      stream.removeAllListeners('data');
      resolve({ ended });
    };
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            finish(false);
            stream.destroy();
          }, timeoutMs);
    stream.on('data', (chunk: Buffer) => (demuxer ? demuxer.push(chunk) : output.push(chunk)));
    stream.once('end', () => finish(true));
    stream.once('close', () => finish(true));
    stream.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** The exit code of an exec whose output ended; the engine may take a moment to record it. */
async function exitCodeOf(exec: Docker.Exec): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const { Running, ExitCode } = await exec.inspect();
    if (!Running && typeof ExitCode === 'number') return ExitCode;
    if (attempt >= 20)
      throw new Error(`the engine reports exec ${shortId(exec.id)} still running after its output ended`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
