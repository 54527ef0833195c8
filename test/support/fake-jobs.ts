/**
 * The Swarm jobs of the in-memory swarm (fake-services.ts), on the test's clock: a job's one task
 * runs as soon as it is made and ends `runMs` later the way `script` says (an exit code and what it
 * printed, or never, or rejected before it ran). Every job made is kept in `created`, so a test
 * asserts how many ran; `live` holds those not removed. Output is redacted as the real runtime
 * redacts it (containerText).
 */
import { EngineError, NameConflictError } from '../../src/runtime/errors.js';
import { containerText } from '../../src/runtime/container-output.js';
import type { JobSpec, JobSummary, TaskState } from '../../src/runtime/services.js';
import type { Clock } from '../../src/util/clock.js';

/** A job of the in-memory swarm and its one task. */
export interface FakeJob {
  id: string;
  spec: JobSpec;
  createdAt: number;
  state: TaskState;
  startedAt: number;
  exitCode?: number;
  error: string;
  output: string;
  /** Stops its scheduled end (when it is removed first). */
  cancel: () => void;
}

/** How a job's task goes: it exits with `exitCode` after printing `output`; or never ends; or is rejected. */
export type JobScript = { exitCode: number; output?: string; ms?: number } | { hang: true } | { rejected: string };

/** The in-memory swarm's jobs, run on the test's clock. */
export class FakeJobs {
  readonly live = new Map<string, FakeJob>();
  /** Every job ever made, in order. */
  readonly created: JobSpec[] = [];
  /** How long a job's task runs, on the clock, unless its script says. */
  runMs = 1_000;
  /** How each job runs; by default it prints its command and exits 0. */
  script: (spec: JobSpec) => JobScript = (spec) => ({ exitCode: 0, output: `ran ${spec.command.join(' ')}\n` });
  private next = 1;

  constructor(
    private readonly clock: Clock,
    /** The id of the Docker secret `name`, when the swarm has it. */
    private readonly secretId: (name: string) => string | undefined,
  ) {}

  create(spec: JobSpec, secretIds: ReadonlyMap<string, string>): string {
    if ([...this.live.values()].some((j) => j.spec.name === spec.name))
      throw new NameConflictError('createJob', `createJob ${spec.name}: name conflicts with an existing object`);
    for (const { name } of spec.secrets) {
      const id = secretIds.get(name);
      if (id === undefined || this.secretId(name) !== id)
        throw new EngineError('createJob', `createJob ${spec.name}: the Docker secret ${name} is missing`, 400);
    }
    const id = `job${String(this.next++).padStart(22, '0')}`;
    const now = this.clock.now();
    const job: FakeJob = {
      id,
      spec: structuredClone(spec),
      createdAt: now,
      state: 'running',
      startedAt: now,
      error: '',
      output: '',
      cancel: () => undefined,
    };
    this.created.push(job.spec);
    this.live.set(id, job);
    const script = this.script(spec);
    if ('rejected' in script) {
      Object.assign(job, { state: 'rejected', startedAt: 0, error: script.rejected });
      return id;
    }
    if ('hang' in script) return id;
    job.cancel = this.clock.schedule(() => {
      Object.assign(job, {
        state: script.exitCode === 0 ? 'complete' : 'failed',
        exitCode: script.exitCode,
        error: script.exitCode === 0 ? '' : `task: non-zero exit (${script.exitCode})`,
        output: script.output ?? '',
      });
    }, script.ms ?? this.runMs);
    return id;
  }

  list(namespace: string, app?: string): JobSummary[] {
    return [...this.live.values()]
      .filter(
        (j) =>
          j.spec.labels['berth.namespace'] === namespace && (app === undefined || j.spec.labels['berth.app'] === app),
      )
      .map((j) => ({
        id: j.id,
        name: j.spec.name,
        app: j.spec.labels['berth.app'] ?? '',
        role: j.spec.labels['berth.role'] ?? '',
        revision: j.spec.labels['berth.revision'] ?? '',
        createdAt: j.createdAt,
        state: j.state,
        startedAt: j.state === 'running' ? j.startedAt : 0,
        ...(j.exitCode !== undefined ? { exitCode: j.exitCode } : {}),
        error: j.error,
        nodeId: 'node1',
      }));
  }

  logs(id: string, secrets: readonly string[]): string {
    const job = this.live.get(id);
    return job ? containerText(Buffer.from(job.output), 0, secrets) : '';
  }

  remove(id: string): void {
    this.live.get(id)?.cancel();
    this.live.delete(id);
  }

  /** The jobs made for `role` (`release`, `postdeploy`). */
  made(role: string): JobSpec[] {
    return this.created.filter((j) => j.labels['berth.role'] === role);
  }
}
