import { resolve } from 'node:path';
import { Controller } from '../../controller/controller.js';
import { DesiredState } from '../../controller/desired-state.js';
import { WorkQueue } from '../../controller/queue.js';
import type { StatusServer } from '../../http/server.js';
import { permissionWarning } from '../../manifest/permissions.js';
import { acquireLock } from '../../state/lock.js';
import { RetryRequests } from '../../state/retry-requests.js';
import { CanaryDecisions } from '../../state/canary-decisions.js';
import { StateStore } from '../../state/store.js';
import { HISTORY_LIMIT } from '../../state/types.js';
import { ObservedContainers } from '../../status/observed-containers.js';
import { systemClock as clock } from '../../util/clock.js';
import { createLogger, type Logger } from '../../util/logger.js';
import { ENGINE_FLAGS, composeEngine, engineChoice } from '../compose/engine.js';
import { branchLabel, followedBranch } from '../compose/git.js';
import { imageAutomation } from '../compose/images.js';
import { IMAGE_FLAGS, registryWebhookSecret } from '../image-options.js';
import type { App } from '../../manifest/types.js';
import { manifestSource } from '../compose/manifests.js';
import { composeNotifier } from '../compose/notifications.js';
import { servingProxy } from '../compose/proxy.js';
import { composeLease, LEASE_FLAGS, leaseDurationMs } from '../compose/lease.js';
import type { LeaseElector } from '../../lease/elector.js';
import { ensureSecretsRoot } from '../compose/secrets.js';
import { runSignals } from '../compose/signals.js';
import { serveStatus, statusMetrics } from '../compose/status.js';
import { GIT_FLAGS, gitSettings } from '../git-options.js';
import { LISTEN_FLAGS, listenSettings } from '../listen-options.js';
import { NOTIFY_FLAGS, notifySinks } from '../notify-options.js';
import { parseCommand, positiveInteger, sharedOptions } from '../options.js';
import type { Output } from '../output.js';
import { PROXY_FLAGS, proxySettings } from '../proxy-options.js';
import { SECRET_FLAGS, identityFiles, secretDecrypter } from '../secret-options.js';

const RUN_FLAGS = {
  manifests: { type: 'string', default: 'manifests' },
  once: { type: 'boolean', default: false },
  resync: { type: 'string', default: '60' },
  concurrency: { type: 'string', default: '4' },
  'allow-empty': { type: 'boolean', default: false },
  'stop-timeout': { type: 'string', default: '10' },
  'keep-revisions': { type: 'string', default: '5' },
  'pull-stall-timeout': { type: 'string', default: '120' },
  ...ENGINE_FLAGS,
  ...GIT_FLAGS,
  ...NOTIFY_FLAGS,
  ...SECRET_FLAGS,
  ...PROXY_FLAGS,
  ...LISTEN_FLAGS,
  ...IMAGE_FLAGS,
  ...LEASE_FLAGS,
} as const;

/**
 * `berth run`: every flag checked, then berth composed in dependency order under the namespace's
 * lock, started, and stopped at SIGTERM or SIGINT (`--once`: one pass, its verdict the exit code).
 */
export async function runCommand(args: string[], out: Output): Promise<number> {
  const { values } = parseCommand(args, RUN_FLAGS, false);
  const shared = sharedOptions(values);
  const { namespace } = shared;
  const dir = resolve(values.manifests);
  const loop = {
    concurrency: positiveInteger(values, 'concurrency'),
    resyncSeconds: positiveInteger(values, 'resync'),
  };
  const stopTimeoutSeconds = positiveInteger(values, 'stop-timeout', 0);
  const keepRevisions = positiveInteger(values, 'keep-revisions', 1, HISTORY_LIMIT);
  const pullStallMs = positiveInteger(values, 'pull-stall-timeout') * 1000;
  const leaseMs = leaseDurationMs(values);
  const logger = await createLogger({ format: shared.logFormat, level: shared.logLevel });
  const proxying = await proxySettings(values, namespace);
  const choice = engineChoice(values);
  const listening = listenSettings(values);
  const git = await gitSettings(values);
  const registryWebhook = await registryWebhookSecret(values);
  const sinks = await notifySinks(values, () => clock.now());
  const decrypter = await secretDecrypter(identityFiles(values));
  const signals = runSignals();
  const lock = await acquireLock(shared.stateDir, namespace);
  let server: StatusServer | undefined;
  try {
    const proxy = await servingProxy(proxying, shared, logger, clock);
    // Blocks of the previous naming become this version's before any route is read (one berth per namespace: the lock is held).
    await proxy.migrate();
    // With --listen, the status endpoints are served from the controller's own looks at the containers, never a list per request.
    const observed = new ObservedContainers(namespace);
    const engineOptions = { namespace, clock, logger, stopTimeoutSeconds, keepRevisions, pullStallMs };
    const engine = composeEngine(choice, { ...engineOptions, observed: listening ? observed : undefined });
    const version = await engine.runtime.ping();
    const state = await StateStore.open(shared.stateDir, namespace, { logger });
    const secretsRoot = await ensureSecretsRoot(values, shared, logger);
    const desired = new DesiredState(values['allow-empty'], proxying.claims);
    const queue = new WorkQueue(clock);
    await proxy.certificates?.load();
    // On Swarm, replicas of berth contend for a lease; only its holder changes the swarm (src/lease/).
    let elector: LeaseElector | undefined;
    let controllerRef: Controller | undefined;
    const leading = choice.kind === 'swarm' ? () => elector?.leading() ?? false : undefined;
    const metrics = listening
      ? await statusMetrics({ state, queue, desired, followsGit: !!git, ...(leading ? { leading } : {}) })
      : undefined;
    const events = composeNotifier({
      namespace,
      clock,
      logger,
      sinks,
      state,
      metrics: metrics?.notify,
      ...(leading ? { leading } : {}),
    });
    if (choice.kind === 'swarm')
      elector = await composeLease({
        namespace,
        stateDir: shared.stateDir,
        durationMs: leaseMs,
        clock,
        logger,
        events: () => events,
        // A new leader looks at every app at once: it carries on from what the swarm holds (a watch the old leader left).
        onRole: (leads) => {
          if (leads) controllerRef?.requeue(desired.names());
        },
      });
    const branch = git ? await followedBranch(git, shared, logger, { state, events }) : undefined;
    const retries = new RetryRequests(shared.stateDir, namespace);
    const canaryDecisions = new CanaryDecisions(shared.stateDir, namespace);
    const reconciler = await engine.reconciler({
      state,
      proxy,
      desired,
      metrics,
      retries,
      canaryDecisions,
      events,
      secretsRoot,
      ...(elector ? { lease: elector } : {}),
    });
    const manifests = await manifestSource({
      dir,
      shared,
      claims: proxying.claims,
      engine,
      decrypter,
      secretsRoot,
      git: branch?.source,
    });
    const automation = imageAutomation({
      clock,
      logger,
      state,
      events,
      ...(metrics ? { metrics: metrics.images } : {}),
      runtime: engine.runtime,
      apps: () => validApps(desired),
      manifestsDir: dir,
      ...(leading ? { mayWrite: leading } : {}),
      ...(git && branch
        ? {
            git: {
              settings: git,
              manifestsDir: () => branch.source.manifestsDir,
              fetchNow: () => void branch.source.fetchNow(),
              stateDir: shared.stateDir,
              namespace,
            },
          }
        : {}),
    });
    const deps = { clock, logger, state, desired, reconciler, queue, manifests, metrics, notify: events };
    const onDesiredChange = () => automation.manifestsChanged();
    const controller = new Controller({ ...deps, events: engine.hostEvents(), onDesiredChange }, loop);
    controllerRef = controller;
    branch?.onTree(() => void controller.refreshManifests());
    const from = git ? branchLabel(git) : dir;
    logger.info(
      { manifests: from, namespace, engine: version.engineVersion, api: version.apiVersion, once: values.once },
      `berth starting: ${from} -> Docker ${version.engineVersion} (API ${version.apiVersion})`,
    );
    // The first look at the remote before the first read: a start with a reachable remote deploys its head.
    await branch?.source.start();
    const exposed = git ? undefined : await permissionWarning(dir);
    if (exposed !== undefined) logger.warn({ manifests: dir, source: 'permissions' }, exposed);
    // The first look at the lease before the first reconcile: a berth alone leads from its first pass.
    await elector?.start();
    if (values.once) {
      try {
        return await onePass(controller, { desired, state, logger, out });
      } finally {
        await elector?.stop();
        await proxy.stop();
      }
    }

    if (listening && metrics) {
      const followed = git && branch ? { settings: git, source: branch.source } : undefined;
      const parts = { namespace, clock, logger, listening, metrics, controller, state, desired, observed, engine };
      const registry = registryWebhook
        ? { secret: registryWebhook, onPush: (repository: string) => automation.wake(repository) }
        : undefined;
      server = await serveStatus({
        ...parts,
        events,
        git: followed,
        ...(registry ? { registryWebhook: registry } : {}),
        ...(elector ? { lease: elector } : {}),
      });
    }
    await controller.start();
    automation.start();
    // A certificate appeared, changed or went: every app is looked at, so its server blocks are rewritten.
    proxy.certificates?.start({
      desired,
      state,
      events,
      onChange: () => controller.requeue(desired.names()),
      ...(leading ? { mayOrder: leading } : {}),
    });
    signals.answer({
      // `berth retry` wakes berth: the apps are looked at now, and each takes its retry request.
      retry: () => controller.requeue(desired.names()),
      // `berth sync`: look at the remote now.
      sync: () => void branch?.source.fetchNow(),
    });
    logger.info({ step: 'ready' }, 'berth is running');

    const signal = await signals.stop;
    logger.info({ signal }, `${signal}: stopping`);
    await server?.close();
    server = undefined;
    signals.close();
    await automation.stop();
    await branch?.source.stop();
    events.stop();
    await proxy.certificates?.stop();
    await controller.stop();
    // Handed back once nothing acts any more: a standby takes it at its next look.
    await elector?.stop();
    await proxy.stop();
    state.close();
    logger.info('stopped');
    // What could still hold the process once berth has stopped: nothing, when every part let go.
    logger.debug({ activeResources: process.getActiveResourcesInfo() }, 'resources still held after the stop');
    await flushLogger(logger);
    return 0;
  } finally {
    await server?.close();
    await lock.release();
  }
}

/** `--once`: one pass; each app that did not converge and each problem on stderr; 0 when all converged and no file has a problem. */
async function onePass(
  controller: Controller,
  parts: { desired: DesiredState; state: StateStore; logger: Logger; out: Output },
): Promise<number> {
  const { desired, state, logger, out } = parts;
  const results = await controller.runOnce();
  const problems = desired.problems();
  const unconverged = [...results].filter(([, r]) => r.failed || (!r.gone && r.phase !== 'Running'));
  for (const [name, result] of unconverged) out.stderr(`${name}: ${result.phase}: ${state.get(name)?.message ?? ''}\n`);
  for (const problem of problems) out.stderr(`${problem.file}:${problem.line}:${problem.col}: ${problem.message}\n`);
  logger.info({ apps: results.size, unconverged: unconverged.length, problems: problems.length }, 'pass complete');
  await flushLogger(logger);
  return unconverged.length === 0 && problems.length === 0 ? 0 : 1;
}

/** The apps whose manifest is valid now: image automation follows only those. */
function validApps(desired: DesiredState): App[] {
  return desired.names().flatMap((name) => {
    const wanted = desired.get(name);
    return wanted.kind === 'present' && wanted.invalid === undefined ? [wanted.app] : [];
  });
}

function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
