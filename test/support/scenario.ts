/**
 * One integration-test world: a unique namespace, a temp manifest directory and state dir,
 * helpers to write manifests and to read the engine's state through the docker CLI (never
 * through berth's own runtime), and a cleanup that leaves nothing behind.
 */
import type { AppStatus } from '../../src/status/app-status.js';
import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { main } from '../../src/cli/main.js';
import { BerthProcess, runCli } from './berth-process.js';
import { cleanupNamespace, dockerCli, uniqueNamespace } from './docker.js';

export interface EngineContainer {
  id: string;
  name: string;
  state: string;
  imageId: string;
  labels: Record<string, string>;
  /** Host port published on 127.0.0.1 for container port 8080/tcp, when there is one. */
  port: number | undefined;
  startedAt: string;
}

export class Scenario {
  readonly processes: BerthProcess[] = [];

  private constructor(
    readonly namespace: string,
    readonly root: string,
    readonly manifests: string,
    readonly stateDir: string,
  ) {}

  /** `namespace`: a name of the test's choosing (default: a fresh unique one). */
  static async create(namespace = uniqueNamespace()): Promise<Scenario> {
    const root = await mkdtemp(join(tmpdir(), 'berth-it-'));
    const scenario = new Scenario(namespace, root, join(root, 'manifests'), join(root, 'state'));
    await import('node:fs/promises').then((fs) => fs.mkdir(scenario.manifests));
    return scenario;
  }

  /** The YAML of an App manifest; `spec` is merged over quick test defaults (1 s check, 1 s retire). */
  manifest(name: string, spec: Record<string, unknown>): string {
    const full = { ports: [{ container: 8080 }], checks: { wait: 1 }, deploy: { retireAfter: 1 }, ...spec };
    return dump({ apiVersion: 'berth/v1', kind: 'App', metadata: { name }, spec: full });
  }

  /** Writes `<name>.yaml` the way editors save: a temp file renamed over the target. */
  async writeManifest(name: string, spec: Record<string, unknown>, file = `${name}.yaml`): Promise<string> {
    const path = join(this.manifests, file);
    await writeFile(`${path}.tmp~`, this.manifest(name, spec));
    await rename(`${path}.tmp~`, path);
    return path;
  }

  image(app: string, tag: string): string {
    return `${this.namespace}/${app}:${tag}`;
  }

  /** Common flags for every command of this scenario. */
  flags(): string[] {
    return ['--namespace', this.namespace, '--state-dir', this.stateDir];
  }

  start(extra: string[] = [], env: NodeJS.ProcessEnv = {}): BerthProcess {
    const process = new BerthProcess(
      ['run', '--manifests', this.manifests, ...this.flags(), '--resync', '3600', '--log-level', 'debug', ...extra],
      env,
    );
    this.processes.push(process);
    return process;
  }

  cli(args: string[]) {
    return runCli([...args, ...this.flags()]);
  }

  /**
   * `berth status --json`, run in this process through the CLI's own entry point (the tests poll
   * it often; a node process per poll would starve the engine of CPU). Exit codes and stderr of
   * status are tested through the real binary in test/integration/cli.
   */
  async status(): Promise<AppStatus[]> {
    let stdout = '';
    let stderr = '';
    const code = await main(['status', '--json', ...this.flags()], {
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
    });
    if (code !== 0) throw new Error(`berth status exited ${code}: ${stderr}`);
    return JSON.parse(stdout);
  }

  /** Containers of this namespace as the engine reports them (all states). */
  async containers(app?: string): Promise<EngineContainer[]> {
    const filters = [
      '--filter',
      `label=berth.namespace=${this.namespace}`,
      ...(app ? ['--filter', `label=berth.app=${app}`] : []),
    ];
    const ids = (await dockerCli(['ps', '-aq', '--no-trunc', ...filters])).split('\n').filter(Boolean);
    if (ids.length === 0) return [];
    const inspected = JSON.parse(await dockerCli(['inspect', ...ids])) as {
      Id: string;
      Name: string;
      Image: string;
      State: { Status: string; StartedAt: string };
      Config: { Labels: Record<string, string> };
      NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null> };
    }[];
    return inspected.map((c) => ({
      id: c.Id,
      name: c.Name.replace(/^\//, ''),
      state: c.State.Status,
      imageId: c.Image,
      labels: c.Config.Labels,
      port: Number(c.NetworkSettings.Ports['8080/tcp']?.find((b) => b.HostIp === '127.0.0.1')?.HostPort) || undefined,
      startedAt: c.State.StartedAt,
    }));
  }

  async running(app?: string): Promise<EngineContainer[]> {
    return (await this.containers(app)).filter((c) => c.state === 'running');
  }

  async imageId(ref: string): Promise<string | undefined> {
    return dockerCli(['image', 'inspect', '--format', '{{.Id}}', ref]).then(
      (out) => out.trim(),
      () => undefined,
    );
  }

  /** Kills every berth this scenario started that still runs (a failed test must not leave one holding the lock). */
  async killProcesses(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
  }

  async cleanup(): Promise<void> {
    await this.killProcesses();
    await cleanupNamespace(this.namespace);
    await rm(this.root, { recursive: true, force: true });
    // The default secrets directory berth made for this namespace, if any app had secret files.
    const shm = await readdir('/dev/shm').catch(() => [] as string[]);
    for (const entry of shm)
      if (entry.startsWith(`berth-${this.namespace}-`))
        await rm(join('/dev/shm', entry), { recursive: true, force: true });
  }
}

/** Writes `text` to `path` directly (no rename), for tests of non-atomic writers. */
export async function overwrite(path: string, text: string): Promise<void> {
  await writeFile(path, text);
}
