/**
 * The speed benchmark of issue 20 (`npm run bench:speed`; part of `npm run bench`): figures
 * printed beside their floors, not a timed test. The built CLI (`dist/cli.js`) runs as users run it.
 *
 * 1. Validation: `berth validate DIR` of 10,000 generated manifests of about 20 lines (image, tag,
 *    env, ports, resources, checks, deploy), and in turns with it two floors: a bare Node process
 *    reading the same files and calling js-yaml's `load` on each, on one thread (yaml-floor.ts), with
 *    js-yaml's CommonJS build (the fastest way js-yaml parses them on Node 20, the floor judged)
 *    and with its ES module build (about 2.2 times slower on Node 20; shown, not judged).
 *    VALIDATION_RUNS runs of each: wall time from spawn to exit; CPU time (every thread) and peak
 *    resident memory as each process reports them at exit (support/report-usage.ts, preloaded
 *    into all). Where `taskset` is, berth also runs pinned to one core (no worker thread). Also
 *    shown, not judged: berth under `node --single-threaded-gc --no-concurrent-recompilation`
 *    (GC and compiling on the threads that need them instead of helper threads that compete with
 *    them for the two cores). Targets, on the medians of the run-by-run ratios (each berth run
 *    beside the floor run of the same turn): CPU at most 1.5 times the floor's, wall time at most
 *    the floor's, memory at most twice the floor's.
 * 2. Start: `node -e 0`, and `berth status` (empty state), `history`, `tags`, `validate` of one
 *    file and `plan` of a directory of 3 manifests, START_RUNS times each, in turns; the median
 *    wall time from spawn to exit. Target: each command at most 0.1 s over `node -e 0`. berth's
 *    code cache (src/launch/code-cache.ts) is in the benchmark's temp dir: the first run of each
 *    command writes it, the others start from it, as users' runs do. Each command also runs in
 *    turns with the cache off, as the first run after an install or upgrade does; shown, not judged.
 *    `status`, `tags` and `plan` ask the engine (DOCKER_HOST or the local socket) as they do for
 *    users: the engine must run.
 *
 * `--profile`: first, one `berth validate DIR` of the 10,000 manifests under `node --cpu-prof`; its
 * profiles (one per thread) land in bench/results/profiles/speed/, and the functions each thread
 * spent most time in are printed.
 *
 * Output: tables on stdout, the figures in bench/results/speed.json. Exits 0 whether or not the
 * targets are met; 1 when the benchmark could not run. Its files are removed.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { dump } from 'js-yaml';
import { CLI } from '../test/support/berth-process.js';
import { dockerCli, uniqueNamespace } from '../test/support/docker.js';
import { summarizeProfile } from './support/cpu-profile.js';
import { median, printTable, writeAtomically } from './support/figures.js';
import { runBenchmark } from './support/teardown.js';

const MANIFESTS = 10_000;
const VALIDATION_RUNS = 11;
const START_RUNS = 21;
const RESULTS_FILE = resolve('bench/results/speed.json');
const REPORT_USAGE = resolve('.build/bench/support/report-usage.js');
const YAML_FLOOR = resolve('.build/bench/yaml-floor.js');
const PROFILES_DIR = resolve('bench/results/profiles/speed');
const { values: flags } = parseArgs({ options: { profile: { type: 'boolean', default: false } } });

const TARGETS = { cpuRatio: 1.5, wallRatio: 1, memoryRatio: 2, startOverFloorMs: 100 };
/** Node flags that keep V8's garbage collection and optimizing compiler on the JS threads. */
const OWN_THREAD_FLAGS = ['--single-threaded-gc', '--no-concurrent-recompilation'];

interface Run {
  wallMs: number;
  cpuMs: number;
  maxRssMiB: number;
}

/**
 * Runs `node ...args` to its end (on the first core alone with `oneCore`: `taskset -c 0`); its
 * CPU and memory as the preloaded reporter says, with `usage`.
 */
function runNode(
  args: string[],
  options: { usage: boolean; expect?: RegExp; oneCore?: boolean; env?: NodeJS.ProcessEnv },
): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const begin = performance.now();
    const node = [process.execPath, ...(options.usage ? ['--import', REPORT_USAGE] : []), ...args];
    const [command, ...rest] = options.oneCore ? ['taskset', '-c', '0', ...node] : node;
    const child = spawn(command!, rest, {
      stdio: ['ignore', 'pipe', 'pipe', options.usage ? 'pipe' : 'ignore'],
      env: { ...process.env, ...options.env },
    });
    let output = '';
    let usage = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    (child.stdio[3] as NodeJS.ReadableStream | null)?.on('data', (chunk: Buffer) => (usage += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - begin;
      if (options.expect && !options.expect.test(output))
        return reject(new Error(`node ${args.join(' ')} exited ${code}: ${output.slice(0, 500)}`));
      const reported = usage
        ? (JSON.parse(usage) as { cpuMs: number; maxRssMiB: number })
        : { cpuMs: NaN, maxRssMiB: NaN };
      resolveRun({ wallMs, ...reported });
    });
  });
}

/** About 20 lines: what a real app's manifest holds. */
function manifestYaml(app: string, i: number): string {
  const spec = {
    image: `registry.example.com/team/${app}`,
    tag: `v1.${i % 7}.0`,
    env: { MODE: 'production', WORKERS: '4', LOG_LEVEL: 'info' },
    ports: [{ container: 8080 }],
    resources: { memory: '256m', cpus: 0.5 },
    checks: { http: [{ path: '/health', content: 'ok', attempts: 5, wait: 1 }] },
    deploy: { strategy: 'zero-downtime', retireAfter: 10 },
  };
  return dump({ apiVersion: 'berth/v1', kind: 'App', metadata: { name: app }, spec });
}

async function writeManifests(dir: string, count: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, count - i) }, (_, j) =>
        writeFile(join(dir, `app${i + j}.yaml`), manifestYaml(`app${i + j}`, i + j)),
      ),
    );
  }
}

/** Whether `taskset` (util-linux) can pin a process to one core here. */
function hasTaskset(): Promise<boolean> {
  return new Promise((resolveCheck) => {
    const child = spawn('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    child.on('error', () => resolveCheck(false));
    child.on('exit', (code) => resolveCheck(code === 0));
  });
}

/**
 * One `berth validate DIR` under `node --cpu-prof`, its profiles (one per thread) in PROFILES_DIR;
 * prints what each thread spent most time in.
 */
async function profileValidation(dir: string, valid: RegExp): Promise<void> {
  await rm(PROFILES_DIR, { recursive: true, force: true });
  await mkdir(PROFILES_DIR, { recursive: true });
  await runNode(['--cpu-prof', '--cpu-prof-dir', PROFILES_DIR, CLI, 'validate', dir], { usage: false, expect: valid });
  // Node names them CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile; thread 0 is the main thread.
  const threadOf = (name: string) => Number(name.split('.')[4]);
  const files = (await readdir(PROFILES_DIR))
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort((a, b) => threadOf(a) - threadOf(b));
  for (const name of files) {
    const thread = threadOf(name);
    const { totalMs, functions } = summarizeProfile(join(PROFILES_DIR, name));
    printTable(
      `CPU profile of berth validate DIR, ${thread === 0 ? 'main thread' : `worker thread ${thread}`} (${ms(totalMs)} sampled; ${join(PROFILES_DIR, name)})`,
      ['function', 'where', 'self', 'share'],
      functions.map((f) => [f.name, f.where, ms(f.selfMs), `${((100 * f.selfMs) / totalMs).toFixed(1)}%`]),
    );
  }
}

const ms = (value: number) => `${Math.round(value)} ms`;
const times = (value: number) => `${value.toFixed(2)}x`;

await runBenchmark(async (teardown) => {
  await dockerCli(['version', '--format', '{{.Server.Version}}']).catch((error: Error) => {
    throw new Error(`the Docker engine must run (status, tags and plan ask it): ${error.message}`);
  });
  const root = await mkdtemp(join(tmpdir(), 'berth-speed-bench-'));
  teardown.add('remove the temp dir', () => rm(root, { recursive: true, force: true }));
  const many = join(root, 'many');
  const few = join(root, 'few');
  const stateDir = join(root, 'state');
  const namespace = uniqueNamespace();
  // berth's code cache (src/launch/) in the temp dir: every run but the first of each command starts from it.
  process.env.BERTH_COMPILE_CACHE = join(root, 'code-cache');
  await writeManifests(many, MANIFESTS);
  await writeManifests(few, 3);

  const valid = new RegExp(`${MANIFESTS} file\\(s\\), ${MANIFESTS} app\\(s\\): valid`);
  if (flags.profile) await profileValidation(many, valid);

  // 1. Validation, in turns with the floors; on one core too where taskset is.
  const oneCore = await hasTaskset();
  const berthRuns: Run[] = [];
  const oneCoreRuns: Run[] = [];
  const flaggedRuns: Run[] = [];
  const floorRuns: Run[] = [];
  const esmFloorRuns: Run[] = [];
  const parsed = new RegExp(`^${MANIFESTS} document`);
  for (let run = 1; run <= VALIDATION_RUNS; run++) {
    floorRuns.push(await runNode([YAML_FLOOR, many, 'cjs'], { usage: true, expect: parsed }));
    esmFloorRuns.push(await runNode([YAML_FLOOR, many, 'esm'], { usage: true, expect: parsed }));
    berthRuns.push(await runNode([CLI, 'validate', many], { usage: true, expect: valid }));
    if (oneCore)
      oneCoreRuns.push(await runNode([CLI, 'validate', many], { usage: true, expect: valid, oneCore: true }));
    flaggedRuns.push(await runNode([...OWN_THREAD_FLAGS, CLI, 'validate', many], { usage: true, expect: valid }));
    console.error(
      `validation ${run}/${VALIDATION_RUNS}: berth ${ms(berthRuns.at(-1)!.wallMs)} (${ms(berthRuns.at(-1)!.cpuMs)} CPU), floor ${ms(floorRuns.at(-1)!.wallMs)} (${ms(floorRuns.at(-1)!.cpuMs)} CPU), ES module floor ${ms(esmFloorRuns.at(-1)!.wallMs)}`,
    );
  }
  const figures = (runs: Run[]) => ({
    wallMs: median(runs.map((r) => r.wallMs)),
    cpuMs: median(runs.map((r) => r.cpuMs)),
    maxRssMiB: median(runs.map((r) => r.maxRssMiB)),
  });
  const validation = {
    manifests: MANIFESTS,
    berth: figures(berthRuns),
    ...(oneCore ? { berthOneCore: figures(oneCoreRuns) } : {}),
    berthOwnThreadFlags: figures(flaggedRuns),
    floor: figures(floorRuns),
    esmFloor: figures(esmFloorRuns),
    runs: {
      berth: berthRuns,
      berthOneCore: oneCoreRuns,
      berthOwnThreadFlags: flaggedRuns,
      floor: floorRuns,
      esmFloor: esmFloorRuns,
    },
  };
  const ratiosOf = (berth: Run, floor: Run = validation.floor) => ({
    cpu: berth.cpuMs / floor.cpuMs,
    wall: berth.wallMs / floor.wallMs,
    memory: berth.maxRssMiB / floor.maxRssMiB,
  });
  const ratios = ratiosOf(validation.berth);
  // Each berth run beside the floor run of the same turn: the medians of these ratios hold when the
  // machine's speed drifts between runs, where a ratio of medians may set a floor run of a fast
  // phase against a berth run of a slow one. The targets are judged on these.
  const turnRatios = {
    cpu: median(berthRuns.map((run, i) => run.cpuMs / floorRuns[i]!.cpuMs)),
    wall: median(berthRuns.map((run, i) => run.wallMs / floorRuns[i]!.wallMs)),
    memory: median(berthRuns.map((run, i) => run.maxRssMiB / floorRuns[i]!.maxRssMiB)),
  };
  const esmFloorRatios = ratiosOf(validation.berth, validation.esmFloor);
  const oneCoreRatios = validation.berthOneCore ? ratiosOf(validation.berthOneCore) : undefined;
  const flaggedRatios = ratiosOf(validation.berthOwnThreadFlags);

  // 2. Start, every command in turns.
  const commands: { name: string; args: string[] }[] = [
    { name: 'node -e 0 (the floor)', args: ['-e', '0'] },
    { name: 'berth status', args: [CLI, 'status', '--state-dir', stateDir, '--namespace', namespace] },
    { name: 'berth history web', args: [CLI, 'history', 'web', '--state-dir', stateDir, '--namespace', namespace] },
    { name: 'berth tags web', args: [CLI, 'tags', 'web', '--namespace', namespace] },
    { name: 'berth validate one file', args: [CLI, 'validate', join(few, 'app0.yaml')] },
    {
      name: 'berth plan (3 manifests)',
      args: [CLI, 'plan', '--manifests', few, '--state-dir', stateDir, '--namespace', namespace],
    },
  ];
  const startMs = new Map(commands.map((c) => [c.name, [] as number[]]));
  const uncachedMs = new Map(commands.map((c) => [c.name, [] as number[]]));
  for (let run = 0; run < START_RUNS; run++) {
    for (const command of commands) {
      startMs.get(command.name)!.push((await runNode(command.args, { usage: false })).wallMs);
      // As the first run after an install or upgrade (which also writes the cache): compiled from source.
      if (command.name !== commands[0]!.name)
        uncachedMs
          .get(command.name)!
          .push((await runNode(command.args, { usage: false, env: { BERTH_COMPILE_CACHE: 'off' } })).wallMs);
    }
  }
  const floorStart = median(startMs.get(commands[0]!.name)!);
  const start = commands.map((c) => ({
    command: c.name,
    medianMs: median(startMs.get(c.name)!),
    overFloorMs: median(startMs.get(c.name)!) - floorStart,
    ...(uncachedMs.get(c.name)!.length > 0 && { uncachedOverFloorMs: median(uncachedMs.get(c.name)!) - floorStart }),
  }));

  const row = (name: string, figures: Run) => [
    name,
    ms(figures.wallMs),
    ms(figures.cpuMs),
    `${figures.maxRssMiB.toFixed(0)} MiB`,
  ];
  const ratioRow = (name: string, r: typeof ratios) => [name, times(r.wall), times(r.cpu), times(r.memory)];
  printTable(
    `Validation of ${MANIFESTS.toLocaleString('en')} manifests (median of ${VALIDATION_RUNS}, in turns)`,
    ['', 'wall', 'CPU', 'peak memory'],
    [
      row('berth validate DIR', validation.berth),
      ...(validation.berthOneCore ? [row('berth validate DIR, one core (taskset -c 0)', validation.berthOneCore)] : []),
      row(`berth validate DIR, node ${OWN_THREAD_FLAGS.join(' ')}`, validation.berthOwnThreadFlags),
      row('floor: node + js-yaml load (CommonJS build), one thread', validation.floor),
      row('node + js-yaml load (ES module build), one thread', validation.esmFloor),
      ratioRow('berth / floor, run by run (median; judged)', turnRatios),
      ratioRow('berth / floor (of the medians above)', ratios),
      ...(oneCoreRatios ? [ratioRow('berth on one core / floor', oneCoreRatios)] : []),
      ratioRow('berth with those node flags / floor', flaggedRatios),
      ratioRow('berth / ES module build (not judged)', esmFloorRatios),
      ['target', `<= ${times(TARGETS.wallRatio)}`, `<= ${times(TARGETS.cpuRatio)}`, `<= ${times(TARGETS.memoryRatio)}`],
    ],
  );
  printTable(
    `Start to exit (median of ${START_RUNS}, in turns; target: at most ${TARGETS.startOverFloorMs} ms over node -e 0)`,
    ['command', 'wall', 'over node -e 0', 'without the code cache'],
    start.map((s, i) => [
      s.command,
      ms(s.medianMs),
      i === 0 ? '' : ms(s.overFloorMs),
      s.uncachedOverFloorMs === undefined ? '' : ms(s.uncachedOverFloorMs),
    ]),
  );
  const met = {
    cpu: turnRatios.cpu <= TARGETS.cpuRatio,
    wall: turnRatios.wall <= TARGETS.wallRatio,
    memory: turnRatios.memory <= TARGETS.memoryRatio,
    start: start.slice(1).every((s) => s.overFloorMs <= TARGETS.startOverFloorMs),
  };
  console.log(
    `\ntargets met: ${Object.entries(met)
      .map(([k, v]) => `${k} ${v ? 'yes' : 'NO'}`)
      .join(', ')}`,
  );
  await mkdir(dirname(RESULTS_FILE), { recursive: true });
  await writeAtomically(
    RESULTS_FILE,
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        targets: TARGETS,
        validation,
        turnRatios,
        ratios,
        esmFloorRatios,
        ...(oneCoreRatios ? { oneCoreRatios } : {}),
        ownThreadFlagsRatios: flaggedRatios,
        start,
        met,
      },
      null,
      2,
    )}\n`,
  );
});
