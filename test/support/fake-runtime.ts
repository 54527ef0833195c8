/**
 * An in-memory Runtime for fast unit tests of the controller logic. It models what the
 * reconciler relies on: names unique, labels, image refs and ids, start/stop/remove, events.
 * It never replaces the integration tests against the real engine.
 */
import { ContainerNotFoundError, NameConflictError, NotManagedError, PullError } from '../../src/runtime/errors.js';
import type {
  ContainerCreateSpec,
  ContainerDetail,
  ContainerSummary,
  EngineInfo,
  EventSubscription,
  ExecResult,
  ImageInfo,
  Runtime,
  RuntimeEvent,
} from '../../src/runtime/types.js';
import type { Clock } from '../../src/util/clock.js';
import { containerText } from '../../src/runtime/container-output.js';

interface FakeContainer extends ContainerDetail {
  spec: ContainerCreateSpec | undefined;
}

export class FakeRuntime implements Runtime {
  readonly containers = new Map<string, FakeContainer>();
  /** ref (`repo:tag`) -> image id */
  readonly tags = new Map<string, string>();
  readonly images = new Map<string, ImageInfo>();
  /** Image ids whose containers exit right after they start. */
  readonly crashing = new Set<string>();
  /** Refs a pull can fetch: ref -> image id. */
  readonly registry = new Map<string, string>();
  readonly calls: string[] = [];
  private listeners: ((event: RuntimeEvent) => void)[] = [];
  private nextId = 1;

  constructor(private readonly clock: Clock) {}

  /** Adds an image and points `ref` at it; returns its id. */
  addImage(ref: string, id = `sha256:${String(this.nextId++).padStart(64, '0')}`): string {
    if (!this.images.has(id))
      this.images.set(id, { id, repoTags: [], repoDigests: [], createdAt: this.clock.now(), size: 1 });
    this.tags.set(ref, id);
    this.emit({ kind: 'image', action: 'tag', id, ref });
    return id;
  }

  /** A container berth did not create, for safety tests. */
  addForeignContainer(name: string, labels: Record<string, string> = {}): string {
    const id = `foreign${this.nextId++}`;
    this.containers.set(id, { ...this.blank(id, name, labels, 'sha256:foreign'), state: 'running', spec: undefined });
    return id;
  }

  /** Exits the engine logged: container id, time, exit code. */
  private readonly exits: { id: string; at: number; exitCode: number }[] = [];

  /** Makes a running container exit, as a crash would. */
  crash(id: string, exitCode = 1): void {
    const c = this.mustGet(id);
    c.state = 'exited';
    c.exitCode = exitCode;
    this.exits.push({ id, at: this.clock.now(), exitCode });
    this.emit({
      kind: 'container',
      action: 'die',
      id,
      namespace: c.labels['berth.namespace'],
      app: c.labels['berth.app'],
    });
  }

  running(app?: string): FakeContainer[] {
    return [...this.containers.values()].filter((c) => c.state === 'running' && (app === undefined || c.app === app));
  }

  async ping(): Promise<EngineInfo> {
    return { engineVersion: 'fake', apiVersion: '1.41' };
  }

  async listContainers(namespace: string, app?: string): Promise<ContainerSummary[]> {
    this.calls.push(app === undefined ? 'listContainers' : `listContainers ${app}`);
    return [...this.containers.values()]
      .filter(
        (c) =>
          c.labels['berth.managed'] === 'true' &&
          c.labels['berth.namespace'] === namespace &&
          (app === undefined || c.app === app) &&
          c.labels['berth.role'] === undefined,
      )
      .map(
        ({
          spec: _spec,
          startedAt: _s,
          restartCount: _r,
          exitCode: _e,
          error: _err,
          env: _env,
          requestedPorts: _rp,
          ...summary
        }) => structuredClone(summary),
      );
  }

  async listRoleContainers(namespace: string, app: string, role: string): Promise<ContainerSummary[]> {
    this.calls.push(`listRoleContainers ${app} ${role}`);
    return [...this.containers.values()]
      .filter((c) => c.labels['berth.namespace'] === namespace && c.app === app && c.labels['berth.role'] === role)
      .map(
        ({
          spec: _spec,
          startedAt: _s,
          restartCount: _r,
          exitCode: _e,
          error: _err,
          env: _env,
          requestedPorts: _rp,
          ...summary
        }) => structuredClone(summary),
      );
  }

  async inspectContainer(id: string): Promise<ContainerDetail> {
    this.calls.push(`inspectContainer ${id}`);
    const { spec: _spec, ...detail } = this.mustGet(id);
    return structuredClone(detail);
  }

  /** Makes a container exit with `exitCode` and its restart policy start it again at once. */
  crashAndRestart(id: string, exitCode: number): void {
    this.crash(id, exitCode);
    const c = this.mustGet(id);
    c.state = 'running';
    c.exitCode = 0;
    c.restartCount++;
    c.startedAt = this.clock.now();
  }

  async lastExitCode(id: string, sinceMs: number): Promise<number | undefined> {
    this.calls.push(`lastExitCode ${id}`);
    return this.exits.filter((exit) => exit.id === id && exit.at >= sinceMs).at(-1)?.exitCode;
  }

  async createContainer(spec: ContainerCreateSpec): Promise<string> {
    this.calls.push(`create ${spec.name}`);
    if ([...this.containers.values()].some((c) => c.name === spec.name))
      throw new NameConflictError('createContainer', `name ${spec.name} is in use`);
    const imageId = this.tags.get(spec.image) ?? spec.image;
    if (!this.images.has(imageId)) throw new ContainerNotFoundError('createContainer', `no such image ${spec.image}`);
    const id = `fake${String(this.nextId++).padStart(12, '0')}`;
    const container: FakeContainer = { ...this.blank(id, spec.name, spec.labels, imageId), spec };
    // As the engine does: the image's env, overridden by the container's.
    container.env = { ...this.images.get(imageId)?.env, ...spec.env };
    container.requestedPorts = structuredClone(spec.ports);
    container.ports = spec.ports.map((p, i) => ({
      container: p.container,
      protocol: p.protocol,
      hostIp: p.hostIp,
      hostPort: p.host ?? 40000 + this.nextId + i,
    }));
    this.containers.set(id, container);
    return id;
  }

  async startContainer(id: string): Promise<void> {
    this.calls.push(`start ${id}`);
    const c = this.mustGet(id);
    c.state = this.crashing.has(c.imageId) ? 'exited' : 'running';
    c.exitCode = c.state === 'exited' ? 1 : 0;
    c.startedAt = this.clock.now();
    this.emit({
      kind: 'container',
      action: 'start',
      id,
      namespace: c.labels['berth.namespace'],
      app: c.labels['berth.app'],
    });
  }

  async stopContainer(id: string): Promise<void> {
    this.calls.push(`stop ${id}`);
    const c = this.mustGet(id);
    if (c.labels['berth.managed'] !== 'true')
      throw new NotManagedError('stopContainer', `${c.name} is not managed by berth`);
    c.state = 'exited';
  }

  async removeContainer(id: string): Promise<void> {
    this.calls.push(`remove ${id}`);
    const c = this.containers.get(id);
    if (!c) return;
    if (c.labels['berth.managed'] !== 'true')
      throw new NotManagedError('removeContainer', `${c.name} is not managed by berth`);
    this.containers.delete(id);
    this.emit({
      kind: 'container',
      action: 'destroy',
      id,
      namespace: c.labels['berth.namespace'],
      app: c.labels['berth.app'],
    });
  }

  /** What every container logged (each answer goes through the one path real container text takes). */
  logs = 'fake output\n';

  async containerLogs(_id: string, _tail: number, secrets: readonly string[]): Promise<string> {
    return containerText(Buffer.from(this.logs), 0, secrets);
  }

  /** How a command run in a container ends; every command exits 0 unless a test says otherwise. */
  execAnswer: (containerId: string, command: string[]) => ExecResult = () => ({
    outcome: 'exited',
    exitCode: 0,
    output: '',
  });

  async execInContainer(
    id: string,
    command: string[],
    _timeoutMs: number,
    secrets: readonly string[],
  ): Promise<ExecResult> {
    this.calls.push(`execInContainer ${id} ${command.join(' ')}`);
    const answer = this.execAnswer(id, command);
    return { ...answer, output: containerText(Buffer.from(answer.output), 0, secrets) };
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    this.calls.push(`inspectImage ${ref}`);
    return this.image(ref);
  }

  private image(ref: string): ImageInfo | undefined {
    const id = this.tags.get(ref) ?? (this.images.has(ref) ? ref : undefined);
    const image = id ? this.images.get(id) : undefined;
    return image ? { ...image, repoTags: [...this.tags].filter(([, v]) => v === image.id).map(([k]) => k) } : undefined;
  }

  async listImages(repository?: string): Promise<ImageInfo[]> {
    this.calls.push('listImages');
    const ids = new Set(
      [...this.tags]
        .filter(([ref]) => repository === undefined || ref.startsWith(`${repository}:`))
        .map(([, id]) => id),
    );
    return [...ids].map((id) => this.image(id)!);
  }

  async pullImage(ref: string): Promise<void> {
    this.calls.push(`pull ${ref}`);
    const id = this.registry.get(ref);
    if (!id) throw new PullError('pullImage', `pull ${ref}: manifest unknown`);
    this.addImage(ref, id);
    const digest = `${ref.slice(0, ref.lastIndexOf(':'))}@${id}`;
    const image = this.images.get(id)!;
    if (!image.repoDigests.includes(digest)) image.repoDigests.push(digest);
  }

  async inspectRemoteImage(ref: string): Promise<{ digest: string } | undefined> {
    const id = this.registry.get(ref);
    return id ? { digest: id } : undefined;
  }

  async tagImage(source: string, repository: string, tag: string): Promise<void> {
    const id = this.tags.get(source) ?? source;
    this.tags.set(`${repository}:${tag}`, id);
  }

  async untagImage(ref: string): Promise<void> {
    this.calls.push(`untag ${ref}`);
    this.tags.delete(ref);
  }

  async subscribe(_namespace: string, onEvent: (event: RuntimeEvent) => void): Promise<EventSubscription> {
    this.listeners.push(onEvent);
    return { close: () => (this.listeners = this.listeners.filter((l) => l !== onEvent)) };
  }

  private emit(event: RuntimeEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private mustGet(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new ContainerNotFoundError('inspectContainer', `no such container ${id}`);
    return c;
  }

  private blank(id: string, name: string, labels: Record<string, string>, imageId: string): ContainerDetail {
    return {
      id,
      name,
      app: labels['berth.app'] ?? '',
      specHash: labels['berth.spec-hash'] ?? '',
      replica: labels['berth.replica'] === undefined ? -1 : Number(labels['berth.replica']),
      imageId,
      state: 'created',
      labels: { ...labels },
      createdAt: this.clock.now() + this.nextId,
      ports: [],
      startedAt: 0,
      restartCount: 0,
      exitCode: 0,
      error: '',
      env: {},
      requestedPorts: [],
    };
  }
}
