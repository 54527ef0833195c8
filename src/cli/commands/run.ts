import { join, resolve } from 'node:path';
import { GIT_FLAGS, gitSettings, type GitSettings } from '../git-options.js';
import type { GitSource } from '../../source/git/git-source.js';
import { redactUrl } from '../../source/git/redact-url.js';
import { sourceLine } from '../../status/source-line.js';
import { NOTIFY_FLAGS, notifySinks } from '../notify-options.js';
import { HostPathCheckingSource } from '../../manifest/host-paths.js';
import { OriginStampingSource } from '../../manifest/origin.js';
import { SECRET_FLAGS, identityFiles, secretDecrypter, secretsRoot, withSecrets } from '../secret-options.js';
import { Notifier } from '../../notify/notifier.js';
import type { EventSink } from '../../events/types.js';
import { Controller } from '../../controller/controller.js';
import { DesiredState } from '../../controller/desired-state.js';
import { ExpectedEvents } from '../../controller/expected-events.js';
import { expectingRuntime } from '../../controller/expecting-runtime.js';
import { WorkQueue } from '../../controller/queue.js';
import { ManifestDirectory } from '../../manifest/read/load.js';
import { permissionWarning } from '../../manifest/permissions.js';
import { Reconciler } from '../../reconcile/docker/reconciler.js';
import { createDockerRuntime } from '../../runtime/docker/docker-runtime.js';
import { acquireLock } from '../../state/lock.js';
import { StateStore } from '../../state/store.js';
import { RetryRequests } from '../../state/retry-requests.js';
import { HISTORY_LIMIT } from '../../state/types.js';
import { systemClock } from '../../util/clock.js';
import { createLogger } from '../../util/logger.js';
import { directTraffic } from '../../proxy/direct.js';
import { EngineEvents } from '../../controller/sources/engine-events.js';
import { claimOptions, PROXY_FLAGS, tlsSettings, trafficRouter, type TlsSettings } from '../proxy-options.js';
import { NginxRouter } from '../../proxy/nginx-router.js';
import type { TrafficRouter } from '../../proxy/types.js';
import type { CertificateManager } from '../../tls/certificate-manager.js';
import type { Logger } from '../../util/logger.js';
import { UsageError } from '../usage.js';
import { formatListenAddress } from '../../http/listen-address.js';
import { LISTEN_FLAGS, listenSettings } from '../listen-options.js';
import { ObservedContainers, observingRuntime } from '../../status/observed-containers.js';
import type { StatusServer } from '../../http/server.js';
import { noMetrics } from '../../metrics/types.js';
import { appStatuses, engineOutage } from '../../status/app-status.js';
import { formatProblem, type ManifestSet } from '../../manifest/types.js';
import { parseCommand, positiveInteger, sharedOptions } from '../options.js';
import type { Output } from '../output.js';
import type { SwarmReconciler, SwarmReconcilerDeps, SwarmReconcilerOptions } from '../../reconcile/swarm/reconciler.js';

const RUN_FLAGS = {
  manifests: { type: 'string', default: 'manifests' },
  once: { type: 'boolean', default: false },
  resync: { type: 'string', default: '60' },
  concurrency: { type: 'string', default: '4' },
  'allow-empty': { type: 'boolean', default: false },
  'stop-timeout': { type: 'string', default: '10' },
  'keep-revisions': { type: 'string', default: '5' },
  'pull-stall-timeout': { type: 'string', default: '120' },
  runtime: { type: 'string', default: 'docker' },
  'swarm-registry': { type: 'string' },
  ...GIT_FLAGS,
  ...NOTIFY_FLAGS,
  ...SECRET_FLAGS,
  ...PROXY_FLAGS,
  ...LISTEN_FLAGS,
} as const;

export async function runCommand(args: string[], out: Output): Promise<number> {
  const { values } = parseCommand(args, RUN_FLAGS, false);
  const shared = sharedOptions(values);
  const dir = resolve(values.manifests);
  const concurrency = positiveInteger(values, 'concurrency');
  const resyncSeconds = positiveInteger(values, 'resync');
  const stopTimeoutSeconds = positiveInteger(values, 'stop-timeout', 0);
  const keepRevisions = positiveInteger(values, 'keep-revisions', 1, HISTORY_LIMIT);
  const pullStallSeconds = positiveInteger(values, 'pull-stall-timeout');
  const logger = await createLogger({ format: shared.logFormat, level: shared.logLevel });
  const tls = await tlsSettings(values, shared.namespace);
  // Bound once the state, the desired state and the controller exist (the manager only calls them after load()).
  const late: { state?: StateStore; desired?: DesiredState; controller?: Controller; notifier?: EventSink } = {};
  const certificates = tls ? await certificateManager(tls, shared, logger, late, () => traffic) : undefined;
  const traffic = trafficRouter(
    values,
    shared.namespace,
    logger,
    tls && certificates
      ? {
          listen: tls.listen,
          ...(tls.challengeRoot !== undefined ? { challengeRoot: tls.challengeRoot } : {}),
          certificates,
        }
      : undefined,
  );
  const engineKind = values.runtime;
  if (engineKind !== 'docker' && engineKind !== 'swarm')
    throw new UsageError(`--runtime must be docker or swarm, not "${engineKind}"`);
  const clock = systemClock;
  const listening = listenSettings(values);
  const listen = listening?.address;

  const git = await gitSettings(values);
  const sinks = await notifySinks(values, () => systemClock.now());
  const decrypter = await secretDecrypter(identityFiles(values));
  const signalled = untilSignal();
  const lock = await acquireLock(shared.stateDir, shared.namespace);
  let server: StatusServer | undefined;
  try {
    // Blocks of the previous naming become this version's before any route is read (one berth per namespace: the lock is held).
    if (traffic instanceof NginxRouter) await traffic.migrate();
    const expected = new ExpectedEvents(clock);
    // With --listen, the status endpoints are served from the controller's own looks at the containers, never a list per request.
    const observed = new ObservedContainers(shared.namespace, () => clock.now());
    const engineRuntime = expectingRuntime(createDockerRuntime({ pullStallMs: pullStallSeconds * 1000 }), expected);
    const runtime = listen ? observingRuntime(engineRuntime, observed) : engineRuntime;
    const engine = await runtime.ping();
    const state = await StateStore.open(shared.stateDir, shared.namespace, { logger });
    const secrets = await secretsRoot(values, shared, logger);
    // Bound once the controller exists: a new tree is read by it.
    let onTree = (): void => undefined;
    let source: GitSource | undefined;
    const desired = new DesiredState(values['allow-empty'], claimOptions(values));
    const queue = new WorkQueue(clock);
    late.state = state;
    late.desired = desired;
    await certificates?.load();
    // fastify and prom-client load only for --listen: every other start stays lean.
    const metrics = listen
      ? (await import('../../metrics/prometheus.js')).createPrometheusMetrics({
          phases: () => state.names().flatMap((name) => state.get(name)?.phase ?? []),
          queueDepth: () => queue.depth,
          manifestErrors: () => desired.problems().length,
          stateWritable: () => state.writeFailure() === undefined,
          certificates: () => state.certificates(),
          ...(git ? { sourceUp: () => source?.status().error === undefined } : {}),
        })
      : undefined;
    const notifier = new Notifier({
      namespace: shared.namespace,
      clock,
      logger,
      sinks,
      persist: (event) => state.appendEvent(event),
      initial: state.events(),
      ...(metrics ? { metrics: metrics.notify } : {}),
    });
    late.notifier = notifier;
    source = git ? await gitSource(git, shared, logger, state, () => onTree(), notifier) : undefined;
    const manifestsDir = source?.manifestsDir ?? dir;
    const retries = new RetryRequests(shared.stateDir, shared.namespace);
    const reconcilerDeps = {
      clock,
      logger,
      state,
      metrics: metrics ?? noMetrics,
      desired: (name: string) => desired.get(name),
      retries,
      events: notifier,
    };
    const reconciler =
      engineKind === 'swarm'
        ? await swarmReconciler(
            { ...reconcilerDeps, traffic },
            {
              namespace: shared.namespace,
              stopTimeoutSeconds,
              ...(values['swarm-registry'] !== undefined ? { registry: values['swarm-registry'] } : {}),
            },
          )
        : new Reconciler(
            { ...reconcilerDeps, runtime, traffic },
            {
              namespace: shared.namespace,
              proxy: traffic !== directTraffic,
              stopTimeoutSeconds,
              keepRevisions,
              secretsRoot: secrets,
            },
          );
    const events = new EngineEvents(shared.namespace, { runtime, clock, logger, expected });
    const controller = new Controller(
      {
        clock,
        logger,
        state,
        desired,
        reconciler,
        events,
        queue,
        notify: notifier,
        metrics: metrics ?? noMetrics,
        manifests: withOrigin(
          await withSecrets(
            await onHost(
              engineKind,
              new ManifestDirectory(manifestsDir, {
                namespace: shared.namespace,
                allowHostPaths: shared.allowHostPaths,
                ...claimOptions(values),
              }),
              shared.allowHostPaths,
            ),
            decrypter,
            shared,
            { secretsRoot: secrets, ...(source ? { checkout: source.checkoutDir } : {}) },
          ),
          source,
        ),
      },
      { concurrency, resyncSeconds },
    );
    late.controller = controller;
    onTree = () => void controller.refreshManifests();
    const from = git ? `${redactUrl(git.url)}@${git.branch}${git.path ? `:${git.path}` : ''}` : dir;
    logger.info(
      {
        manifests: from,
        namespace: shared.namespace,
        engine: engine.engineVersion,
        api: engine.apiVersion,
        once: values.once,
      },
      `berth starting: ${from} -> Docker ${engine.engineVersion} (API ${engine.apiVersion})`,
    );
    // The first look at the remote before the first read: a start with a reachable remote deploys its head.
    await source?.start();
    const exposed = git ? undefined : await permissionWarning(dir);
    if (exposed !== undefined) logger.warn({ manifests: dir, source: 'permissions' }, exposed);

    if (values.once) {
      const results = await controller.runOnce();
      const problems = desired.problems();
      const unconverged = [...results].filter(([, r]) => r.failed || (!r.gone && r.phase !== 'Running'));
      for (const [name, result] of unconverged)
        out.stderr(`${name}: ${result.phase}: ${state.get(name)?.message ?? ''}\n`);
      for (const problem of problems)
        out.stderr(`${problem.file}:${problem.line}:${problem.col}: ${problem.message}\n`);
      logger.info({ apps: results.size, unconverged: unconverged.length, problems: problems.length }, 'pass complete');
      await flushLogger(logger);
      return unconverged.length === 0 && problems.length === 0 ? 0 : 1;
    }

    if (listen && metrics) {
      const { StatusServer } = await import('../../http/server.js');
      server = new StatusServer({
        namespace: shared.namespace,
        readiness: () => controller.readiness(),
        snapshot: async () => ({
          ...statusSnapshot(
            observed,
            state,
            engineKind === 'swarm' ? () => runtime.listContainers(shared.namespace) : undefined,
          ),
          problems: desired.problems().map(formatProblem),
          ...(source ? { source: sourceLine(source.status(), clock.now()) } : {}),
          events: notifier.events(),
        }),
        ...(source && git?.webhookSecret !== undefined
          ? { gitWebhook: { secret: git.webhookSecret, branch: git.branch, onPush: () => void source.fetchNow() } }
          : {}),
        onChange: (listener) => {
          const offState = state.onChange(listener);
          const offObserved = observed.onChange(listener);
          return () => {
            offState();
            offObserved();
          };
        },
        metrics: metrics.registry,
        ...(listening ? { limits: listening.limits } : {}),
        clock,
        logger,
      });
      const bound = await server.listen(listen);
      const url = `http://${formatListenAddress(bound)}`;
      logger.info(
        { source: 'http', listen: url },
        `Status page on ${url}/ (also /healthz, /readyz, /metrics, /api/apps)`,
      );
    }
    await controller.start();
    certificates?.start();
    // `berth retry` wakes berth: the apps are looked at now, and each takes its retry request.
    const onRetry = () => controller.requeue(desired.names());
    process.on('SIGUSR2', onRetry);
    // `berth sync`: look at the remote now.
    const onSync = () => void source?.fetchNow();
    process.on('SIGHUP', onSync);
    logger.info({ step: 'ready' }, 'berth is running');
    const signal = await signalled;
    logger.info({ signal }, `${signal}: stopping`);
    await server?.close();
    server = undefined;
    process.off('SIGUSR2', onRetry);
    process.off('SIGHUP', onSync);
    await source?.stop();
    notifier.stop();
    await certificates?.stop();
    await controller.stop();
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

/**
 * The certificate manager for --acme-directory / --tls-cert-dir, loaded only then (acme-client is
 * heavy). It certifies every domain the proxy serves for an app with a manifest, once the app is
 * served, and requeues every app when a certificate changes so its server blocks are rewritten.
 */
async function certificateManager(
  tls: TlsSettings,
  shared: { stateDir: string; namespace: string },
  logger: Logger,
  late: { state?: StateStore; desired?: DesiredState; controller?: Controller; notifier?: EventSink },
  router: () => TrafficRouter,
): Promise<CertificateManager> {
  const [{ CertificateManager }, { AcmeStore }, { AcmeIssuer }] = await Promise.all([
    import('../../tls/certificate-manager.js'),
    import('../../tls/acme-store.js'),
    import('../../tls/acme-issuer.js'),
  ]);
  const store = new AcmeStore(shared.stateDir, shared.namespace);
  const issuer =
    tls.acme && tls.challengeRoot !== undefined
      ? new AcmeIssuer({ ...tls.acme, challengeRoot: tls.challengeRoot }, store, logger.child({ source: 'acme' }))
      : undefined;
  return new CertificateManager({
    clock: systemClock,
    logger,
    store,
    ...(issuer ? { issuer } : {}),
    ...(tls.ownDir !== undefined ? { ownDir: tls.ownDir } : {}),
    wanted: () => {
      const traffic = router();
      const wanted = new Map<string, string>();
      if (!late.desired || !(traffic instanceof NginxRouter)) return wanted;
      for (const name of late.desired.names()) {
        const desired = late.desired.get(name);
        if (desired.kind !== 'present') continue;
        // A domain another server block holds is not this app's to certify: the holder answers its challenges.
        const refused = traffic.refusedDomains(name);
        for (const domain of traffic.domainsOf(desired.app)) if (!refused.includes(domain)) wanted.set(domain, name);
      }
      return wanted;
    },
    isServed: (app) => router().hasRoute(app),
    onChange: () => late.controller?.requeue(late.desired?.names() ?? []),
    report: (records) => late.state?.setCertificates(records),
    events: { emit: (event) => late.notifier?.emit(event) },
  });
}

/** The git source for --git, its checkout under the namespace's state directory. */
async function gitSource(
  git: GitSettings,
  shared: { stateDir: string; namespace: string },
  logger: Logger,
  state: StateStore,
  onTree: () => void,
  events: EventSink,
): Promise<GitSource> {
  const { GitSource } = await import('../../source/git/git-source.js');
  let failing = state.source()?.error;
  const source = new GitSource(
    {
      url: git.url,
      branch: git.branch,
      path: git.path,
      intervalMs: git.intervalSeconds * 1000,
      dir: join(StateStore.directory(shared.stateDir, shared.namespace), 'git'),
      ...(git.signatures ? { signatures: git.signatures } : {}),
    },
    {
      clock: systemClock,
      logger,
      onTree,
      onDiverged: (applied, next) =>
        events.emit({
          type: 'source.diverged',
          message: `${redactUrl(git.url)}@${git.branch} moved from ${applied.sha.slice(0, 7)} to ${next.sha.slice(0, 7)}, which does not descend from it (a force-push, or the branch set back); applying ${next.sha.slice(0, 7)}`,
          details: { url: redactUrl(git.url), branch: git.branch, from: applied.sha, to: next.sha, commit: next.sha },
        }),
      onCondition: (condition) => {
        state.setSource(condition);
        if (condition.error !== undefined && failing === undefined)
          events.emit({
            type: 'source.failed',
            message: `${condition.url}@${condition.branch}: ${condition.error}`,
            details: { url: condition.url, branch: condition.branch, reason: condition.error },
          });
        if (condition.error === undefined && failing !== undefined)
          events.emit({
            type: 'source.recovered',
            message: `${condition.url}@${condition.branch} answers again`,
            details: { url: condition.url, branch: condition.branch },
          });
        failing = condition.error;
      },
    },
  );
  await source.load();
  return source;
}

/** The Swarm reconciler, loaded only for --runtime swarm; rejects when the engine is no swarm manager. */
async function swarmReconciler(
  deps: Omit<SwarmReconcilerDeps, 'services'>,
  options: SwarmReconcilerOptions,
): Promise<SwarmReconciler> {
  const [{ createSwarmRuntime }, { SwarmReconciler }] = await Promise.all([
    import('../../runtime/docker/swarm-runtime.js'),
    import('../../reconcile/swarm/reconciler.js'),
  ]);
  const services = createSwarmRuntime();
  await services.swarm();
  return new SwarmReconciler({ ...deps, services }, options);
}

/** With --runtime swarm (whose controller watches services, not containers): the containers are listed at most this often, whatever the number of requests. */
const SWARM_CONTAINERS_MAX_AGE_MS = 5_000;

/**
 * What the status endpoints show: state beside the containers as the controller last saw them
 * (its resync, its reconciles, the engine's events); no request asks the engine. While the engine
 * is lost or hung, state alone. `list`: for Swarm, the containers are listed in the background
 * when what is known is older than SWARM_CONTAINERS_MAX_AGE_MS (one list at a time, shared).
 */
function statusSnapshot(observed: ObservedContainers, state: StateStore, list: (() => Promise<unknown>) | undefined) {
  const engineReachable = state.engine()?.reachable !== false;
  if (engineReachable && list) observed.refreshIfOlder(SWARM_CONTAINERS_MAX_AGE_MS, list);
  const containers = engineReachable ? observed.containers() : undefined;
  const outages = [engineOutage(state.engine()), state.writeFailure()?.message].filter((line) => line !== undefined);
  return { apps: appStatuses({ state, containers }), ...(outages.length > 0 ? { outage: outages.join('; ') } : {}) };
}

/** Listens from the start, so a signal that arrives while berth is starting stops it cleanly once started. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
      resolve(signal);
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}

function flushLogger(logger: { flush(cb?: (err?: Error) => void): void }): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

/** With --git, each app read carries the commit its manifest was read from (what its deploy records), and who last changed its file. */
function withOrigin(
  manifests: { readonly dir: string; read(): Promise<ManifestSet> },
  source: GitSource | undefined,
): { readonly dir: string; read(): Promise<ManifestSet> } {
  return source ? new OriginStampingSource(manifests, source) : manifests;
}

/** On one host, host paths are checked where they are mounted (host-paths.ts); a swarm mounts them on whichever node runs the task. */
async function onHost(
  engineKind: string,
  source: ManifestDirectory,
  prefixes: string[],
): Promise<{ readonly dir: string; read(): Promise<ManifestSet> }> {
  return engineKind === 'docker' ? HostPathCheckingSource.create(source, prefixes) : source;
}
