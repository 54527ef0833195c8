/**
 * An in-memory ServiceRuntime (a one-manager swarm) for fast unit tests of the Swarm reconciler.
 * It models what the reconciler relies on, on the test's clock:
 * - services with versions: an update or rollback naming a stale version is refused, as Swarm
 *   refuses it; each keeps its previous spec, as Swarm does for a rollback; an update (labels
 *   alone too) empties the update status, as Swarm does;
 * - tasks: a create or an update starts new tasks (`starting`), which run `rolloutMs` later and an
 *   update completes (the old tasks shut down; `completedAt` set). An image in `unhealthy` fails
 *   its new tasks and Swarm rolls the update back itself (`rollback_started`, then
 *   `rollback_completed`), forgetting the failed spec (no previous spec after it, as Swarm does);
 *   a rollback someone asks for swaps the spec and the previous one, starts the previous spec's
 *   tasks where none run, and completes `rolloutMs` later. An image in `stuck` never gets its
 *   tasks running, so the update runs until someone rolls it back; an image in `crashing` runs,
 *   and each of its tasks fails that long after it started running, and Swarm starts another for
 *   its slot. Tests may also edit `tasks` and a service's `update` directly;
 * - Docker secrets: a create by a name already there gives that one's id; removing one a spec (or
 *   previous spec) mounts is refused; a create or update whose secrets are not given by id is refused;
 * - where images are (`inRegistry`, `onHostOnly`), and pushes;
 * - every call, in `calls`; `sent()` the ones that change something, so a test asserts "nothing sent".
 * It never replaces the integration tests against a real swarm.
 */
import { createHash } from 'node:crypto';
import { repositoryOf } from '../../src/manifest/image-ref.js';
import { EngineError, ImageNotFoundError, ServiceNotFoundError } from '../../src/runtime/errors.js';
import type {
  ImageLocation,
  JobSpec,
  JobSummary,
  SecretSpec,
  SecretSummary,
  ServiceRuntime,
  ServiceSpec,
  ServiceSummary,
  TaskSummary,
} from '../../src/runtime/services.js';
import type { Clock } from '../../src/util/clock.js';
import { FakeJobs } from './fake-jobs.js';

export interface FakeService {
  id: string;
  spec: ServiceSpec;
  previous?: ServiceSpec;
  version: number;
  update: ServiceSummary['update'];
}

interface FakeSecret {
  id: string;
  name: string;
  labels: Record<string, string>;
  data: Buffer;
}

/** Calls that change something in the swarm or a registry. */
const CHANGES = [
  'pushImage',
  'createSecret',
  'removeSecret',
  'createService',
  'updateService',
  'rollbackService',
  'labelService',
  'removeService',
  'createJob',
  'removeJob',
];

export class FakeServices implements ServiceRuntime {
  readonly services = new Map<string, FakeService>();
  tasks: TaskSummary[] = [];
  readonly secrets = new Map<string, FakeSecret>();
  nodes = [{ id: 'node1', addr: '10.0.0.1' }];
  /** Where each image reference is (`locateImage`); nowhere when absent. */
  readonly locations = new Map<string, ImageLocation>();
  /** Pinned image references whose tasks fail their checks. */
  readonly unhealthy = new Set<string>();
  /** Pinned image references whose tasks never run. */
  readonly stuck = new Set<string>();
  /** Pinned image references whose tasks fail this long after they started running (and are restarted by Swarm). */
  readonly crashing = new Map<string, number>();
  /** How long new tasks take to run (or fail), on the clock. */
  rolloutMs = 500;
  readonly calls: string[] = [];
  private next = 1;
  /** The tasks the last create or update of each service started. */
  private readonly rollingOut = new Map<string, TaskSummary[]>();
  private nextPort = 30000;

  /** The swarm's jobs (release steps, post-deploy commands): how they run, and every one made. */
  readonly jobs: FakeJobs;

  constructor(private readonly clock: Clock) {
    this.jobs = new FakeJobs(clock, (name) => this.secrets.get(name)?.id);
  }

  /** `ref` is in its registry as `ref@digest`; returns the pinned reference. */
  inRegistry(ref: string, digest = this.digest(ref)): string {
    const pinned = `${ref}@${digest}`;
    this.locations.set(ref, { where: 'registry', pinned });
    return pinned;
  }

  /** `ref` is on this host only. */
  onHostOnly(ref: string, repoDigests: string[] = []): void {
    this.locations.set(ref, { where: 'local', repoDigests });
  }

  /** The calls that changed something, in order. */
  sent(): string[] {
    return this.calls.filter((call) => CHANGES.includes(call.split(' ')[0] ?? ''));
  }

  /** The service of `app` (in any namespace). */
  serviceOf(app: string): FakeService | undefined {
    return [...this.services.values()].find((s) => s.spec.labels['berth.app'] === app);
  }

  /** The tasks of `app` that run and are meant to. */
  runningTasks(app: string): TaskSummary[] {
    return this.tasks.filter((t) => t.app === app && t.state === 'running' && t.desiredState === 'running');
  }

  async swarm(): Promise<{ nodeId: string; managers: number; nodes: number }> {
    this.calls.push('swarm');
    return { nodeId: this.nodes[0]?.id ?? '', managers: 1, nodes: this.nodes.length };
  }

  async listServices(namespace: string, app?: string): Promise<ServiceSummary[]> {
    this.calls.push(app === undefined ? 'listServices' : `listServices ${app}`);
    return [...this.services.values()]
      .filter((s) => s.spec.labels['berth.namespace'] === namespace && (app === undefined || appOf(s.spec) === app))
      .map((s) => structuredClone(summaryOf(s)));
  }

  async listTasks(namespace: string, app?: string): Promise<TaskSummary[]> {
    this.calls.push(app === undefined ? 'listTasks' : `listTasks ${app}`);
    const ids = new Set(
      [...this.services.values()].filter((s) => s.spec.labels['berth.namespace'] === namespace).map((s) => s.id),
    );
    return structuredClone(this.tasks.filter((t) => ids.has(t.serviceId) && (app === undefined || t.app === app)));
  }

  async listNodes(): Promise<{ id: string; addr: string }[]> {
    this.calls.push('listNodes');
    return structuredClone(this.nodes);
  }

  async locateImage(ref: string): Promise<ImageLocation> {
    this.calls.push(`locateImage ${ref}`);
    return structuredClone(this.locations.get(ref) ?? { where: 'nowhere' });
  }

  async pushImage(source: string, target: string): Promise<string> {
    this.calls.push(`pushImage ${source} ${target}`);
    const local = this.locations.get(source);
    if (local?.where !== 'local') throw new ImageNotFoundError('pushImage', `pushImage ${source}: no such image`);
    const digest = this.digest(source);
    local.repoDigests.push(`${repositoryOf(target)}@${digest}`);
    return this.inRegistry(target, digest);
  }

  async createService(spec: ServiceSpec, secretIds: ReadonlyMap<string, string> = new Map()): Promise<string> {
    this.calls.push(`createService ${spec.name}`);
    this.checkSecrets('createService', spec, secretIds);
    if ([...this.services.values()].some((s) => s.spec.name === spec.name))
      throw new EngineError('createService', `createService ${spec.name}: name conflicts with an existing object`, 409);
    const id = this.id('svc');
    const service: FakeService = {
      id,
      spec: structuredClone(spec),
      version: 1,
      update: { state: 'none', message: '' },
    };
    this.services.set(id, service);
    this.startTasks(service, spec.replicas, () => undefined);
    return id;
  }

  async updateService(
    id: string,
    version: number,
    spec: ServiceSpec,
    secretIds: ReadonlyMap<string, string> = new Map(),
  ): Promise<void> {
    this.calls.push(`updateService ${spec.name} ${version}`);
    const service = this.current('updateService', id, version);
    this.checkSecrets('updateService', spec, secretIds);
    const rolling = taskTemplate(service.spec) !== taskTemplate(spec);
    service.previous = service.spec;
    service.spec = structuredClone(spec);
    service.version++;
    service.update = { state: 'none', message: '' };
    if (!rolling) {
      this.scale(service);
      return;
    }
    service.update = { state: 'updating', message: 'update in progress', startedAt: this.clock.now() };
    const old = this.tasks.filter((t) => t.serviceId === id && t.desiredState === 'running');
    this.startTasks(service, spec.replicas, (started) => {
      if (service.update.state !== 'updating') return;
      if (this.unhealthy.has(spec.image)) {
        service.update = {
          state: 'rollback_started',
          message: `update rolled back due to failure or early termination of task ${started[0]?.id}`,
          startedAt: service.update.startedAt ?? this.clock.now(),
        };
        this.rollBack(service, false);
        return;
      }
      for (const t of old) Object.assign(t, { state: 'shutdown', desiredState: 'shutdown' });
      service.update = {
        state: 'completed',
        message: 'update completed',
        ...(service.update.startedAt !== undefined ? { startedAt: service.update.startedAt } : {}),
        completedAt: this.clock.now(),
      };
    });
  }

  async rollbackService(id: string, version: number): Promise<void> {
    this.calls.push(`rollbackService ${id} ${version}`);
    const service = this.current('rollbackService', id, version);
    if (!service.previous) throw new EngineError('rollbackService', `rollbackService ${id}: no previous spec`, 400);
    service.update = { state: 'rollback_started', message: 'manually requested rollback', startedAt: this.clock.now() };
    this.rollBack(service, true);
  }

  async labelService(id: string, version: number, labels: Readonly<Record<string, string | undefined>>): Promise<void> {
    this.calls.push(`labelService ${id} ${version}`);
    const service = this.current('labelService', id, version);
    const spec = structuredClone(service.spec);
    for (const [key, value] of Object.entries(labels)) {
      if (value === undefined) delete spec.labels[key];
      else spec.labels[key] = value;
    }
    service.previous = service.spec;
    service.spec = spec;
    service.version++;
    service.update = { state: 'none', message: '' };
  }

  async removeService(id: string): Promise<void> {
    this.calls.push(`removeService ${id}`);
    if (!this.services.delete(id))
      throw new ServiceNotFoundError('removeService', `removeService ${id}: no such service`);
    this.tasks = this.tasks.filter((t) => t.serviceId !== id);
  }

  async listSecrets(namespace: string, app?: string): Promise<SecretSummary[]> {
    this.calls.push(app === undefined ? 'listSecrets' : `listSecrets ${app}`);
    return [...this.secrets.values()]
      .filter((s) => s.labels['berth.namespace'] === namespace && (app === undefined || s.labels['berth.app'] === app))
      .map((s) => ({ id: s.id, name: s.name, app: s.labels['berth.app'] ?? '' }));
  }

  async createSecret(secret: SecretSpec): Promise<string> {
    this.calls.push(`createSecret ${secret.name}`);
    const there = this.secrets.get(secret.name);
    if (there) return there.id;
    const id = this.id('sec');
    this.secrets.set(secret.name, { id, name: secret.name, labels: { ...secret.labels }, data: secret.data });
    return id;
  }

  async createJob(spec: JobSpec, secretIds: ReadonlyMap<string, string> = new Map()): Promise<string> {
    this.calls.push(`createJob ${spec.name}`);
    return this.jobs.create(spec, secretIds);
  }

  async listJobs(namespace: string, app?: string): Promise<JobSummary[]> {
    this.calls.push(app === undefined ? 'listJobs' : `listJobs ${app}`);
    return this.jobs.list(namespace, app);
  }

  async jobLogs(id: string, secrets: readonly string[]): Promise<string> {
    this.calls.push(`jobLogs ${id}`);
    return this.jobs.logs(id, secrets);
  }

  async removeJob(id: string): Promise<void> {
    this.calls.push(`removeJob ${id}`);
    this.jobs.remove(id);
  }

  async removeSecret(id: string): Promise<void> {
    this.calls.push(`removeSecret ${id}`);
    const secret = [...this.secrets.values()].find((s) => s.id === id);
    if (!secret) return;
    const user = [...this.services.values()].find((s) =>
      [s.spec, s.previous].some((spec) => spec?.secrets.some((m) => m.name === secret.name)),
    );
    if (user)
      throw new EngineError(
        'removeSecret',
        `removeSecret ${id}: secret '${secret.name}' is in use by ${user.spec.name}`,
        400,
      );
    this.secrets.delete(secret.name);
  }

  /** The service `id` at `version`, or Swarm's refusal. */
  private current(operation: string, id: string, version: number): FakeService {
    const service = this.services.get(id);
    if (!service) throw new ServiceNotFoundError(operation, `${operation} ${id}: no such service`);
    if (service.version !== version)
      throw new EngineError(
        operation,
        `${operation} ${id}: update out of sequence (version ${version}, now ${service.version})`,
        500,
      );
    return service;
  }

  private checkSecrets(operation: string, spec: ServiceSpec, secretIds: ReadonlyMap<string, string>): void {
    for (const { name } of spec.secrets) {
      const id = secretIds.get(name);
      if (id === undefined || this.secrets.get(name)?.id !== id)
        throw new EngineError(operation, `${operation} ${spec.name}: the Docker secret ${name} is missing`, 400);
    }
  }

  /**
   * Starts `count` tasks of the service's spec; `rolloutMs` later they run (or fail, for an
   * unhealthy image; or stay starting, for a stuck one) and `settled` is told which.
   */
  private startTasks(service: FakeService, count: number, settled: (started: TaskSummary[]) => void): void {
    const { spec } = service;
    const started = Array.from({ length: count }, (_, slot) => this.task(service, slot + 1, 'starting'));
    this.tasks.push(...started);
    this.rollingOut.set(service.id, started);
    this.clock.schedule(() => {
      if (!this.services.has(service.id) || this.stuck.has(spec.image)) return;
      const unhealthy = this.unhealthy.has(spec.image);
      for (const t of started) {
        if (t.desiredState !== 'running') continue;
        Object.assign(
          t,
          unhealthy
            ? { state: 'failed', desiredState: 'shutdown', error: 'task: non-zero exit (1): unhealthy container' }
            : { state: 'running' },
        );
        if (!unhealthy) this.crashLater(service, t);
      }
      settled(started);
    }, this.rolloutMs);
  }

  /**
   * Back to the previous spec: the tasks of the spec left go once the previous spec's run (those
   * an update never stopped, start-first, or new ones); done `rolloutMs` later. `requested`: someone
   * asked for it, and the spec left becomes the previous one; Swarm's own rollback forgets it.
   */
  private rollBack(service: FakeService, requested: boolean): void {
    const failed = service.spec;
    service.spec = service.previous ?? service.spec;
    if (requested) service.previous = failed;
    else delete service.previous;
    service.version++;
    const { spec } = service;
    const live = this.tasks.filter((t) => t.serviceId === service.id && t.desiredState === 'running');
    const restored = live.filter((t) => t.image === spec.image && t.specHash === spec.labels['berth.spec-hash']);
    const leaving = live.filter((t) => !restored.includes(t));
    const missing = Math.max(0, spec.replicas - restored.length);
    const free = Array.from({ length: spec.replicas }, (_, i) => i + 1).filter(
      (slot) => !restored.some((t) => t.slot === slot),
    );
    const started = free.slice(0, missing).map((slot) => this.task(service, slot, 'starting'));
    this.tasks.push(...started);
    if (started.length === 0)
      for (const t of leaving) Object.assign(t, { state: 'shutdown', desiredState: 'shutdown' });
    this.clock.schedule(() => {
      for (const t of started) if (t.desiredState === 'running') Object.assign(t, { state: 'running' });
      for (const t of leaving) Object.assign(t, { state: 'shutdown', desiredState: 'shutdown' });
      if (service.update.state === 'rollback_started')
        service.update = {
          ...service.update,
          state: 'rollback_completed',
          message: 'rollback completed',
          completedAt: this.clock.now(),
        };
    }, this.rolloutMs);
  }

  /** A task of a `crashing` image fails that long after it started running; Swarm starts another for its slot. */
  private crashLater(service: FakeService, task: TaskSummary): void {
    const after = task.image === undefined ? undefined : this.crashing.get(task.image);
    if (after === undefined) return;
    this.clock.schedule(() => {
      if (!this.services.has(service.id) || task.state !== 'running' || task.desiredState !== 'running') return;
      Object.assign(task, { state: 'failed', desiredState: 'shutdown', error: 'task: non-zero exit (1)' });
      if (service.spec.image !== task.image) return;
      const replacement = this.task(service, task.slot, 'starting');
      this.tasks.push(replacement);
      this.clock.schedule(() => {
        if (replacement.desiredState !== 'running' || !this.services.has(service.id)) return;
        replacement.state = 'running';
        this.crashLater(service, replacement);
      }, this.rolloutMs);
    }, after);
  }

  /** The replica count changed alone: tasks come or go at once. */
  private scale(service: FakeService): void {
    const running = this.tasks.filter((t) => t.serviceId === service.id && t.desiredState === 'running');
    for (const t of running.slice(service.spec.replicas))
      Object.assign(t, { state: 'shutdown', desiredState: 'shutdown' });
    for (let slot = running.length + 1; slot <= service.spec.replicas; slot++)
      this.tasks.push(this.task(service, slot, 'running'));
  }

  private task(service: FakeService, slot: number, state: TaskSummary['state']): TaskSummary {
    const { spec } = service;
    return {
      // Swarm's task ids are 25 characters of [a-z0-9], as its messages name them.
      id: `task${String(this.next++).padStart(21, '0')}`,
      serviceId: service.id,
      app: appOf(spec),
      slot,
      nodeId: this.nodes[(slot - 1) % this.nodes.length]?.id ?? '',
      state,
      desiredState: 'running',
      specHash: spec.labels['berth.spec-hash'] ?? '',
      image: spec.image,
      message: state,
      error: '',
      ports: spec.ports.map((p) => ({
        target: p.target,
        published: p.published ?? this.nextPort++,
        protocol: p.protocol,
      })),
      createdAt: this.clock.now(),
    };
  }

  private id(prefix: string): string {
    return `${prefix}${String(this.next++).padStart(22, '0')}`;
  }

  private digest(ref: string): string {
    return `sha256:${createHash('sha256').update(ref).digest('hex')}`;
  }
}

function appOf(spec: ServiceSpec): string {
  return spec.labels['berth.app'] ?? '';
}

/** The spec but its replica count: what Swarm rolls out when it changes. */
function taskTemplate(spec: ServiceSpec): string {
  const { replicas: _replicas, labels: _labels, ...template } = spec;
  return JSON.stringify(template);
}

function summaryOf(service: FakeService): ServiceSummary {
  const { spec, previous } = service;
  return {
    id: service.id,
    name: spec.name,
    app: appOf(spec),
    version: service.version,
    specHash: spec.labels['berth.spec-hash'] ?? '',
    serviceHash: spec.labels['berth.service-hash'] ?? '',
    image: spec.image,
    replicas: spec.replicas,
    update: { ...service.update },
    ...(previous
      ? {
          previousSpecHash: previous.labels['berth.spec-hash'] ?? '',
          previousServiceHash: previous.labels['berth.service-hash'] ?? '',
          previousImage: previous.image,
        }
      : {}),
    labels: { ...spec.labels },
    secretNames: [...new Set([spec, previous].flatMap((s) => s?.secrets.map((m) => m.name) ?? []))],
  };
}
