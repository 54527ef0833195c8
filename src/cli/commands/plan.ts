import { shortId } from '../../util/short-id.js';
import { resolve } from 'node:path';
import { DesiredState } from '../../controller/desired-state.js';
import { formatProblem } from '../../manifest/types.js';
import { ManifestDirectory } from '../../manifest/read/load.js';
import { directTraffic } from '../../proxy/direct.js';
import type { Action, Plan } from '../../reconcile/docker/actions.js';
import { formatDiff } from '../../reconcile/core/diff.js';
import { previewApp } from '../../reconcile/docker/preview.js';
import { containersByApp } from '../../reconcile/docker/containers-by-app.js';
import { parseRevisionKey } from '../../reconcile/core/revision.js';
import { createDockerRuntime } from '../../runtime/docker/docker-runtime.js';
import { StateStore } from '../../state/store.js';
import { HISTORY_LIMIT } from '../../state/types.js';
import { systemClock } from '../../util/clock.js';
import { silentLogger } from '../../util/silent-logger.js';
import { parseCommand, positiveInteger, sharedOptions } from '../options.js';
import type { Output } from '../output.js';
import { claimOptions, PROXY_FLAGS, tlsSettings, trafficRouter, type TlsSettings } from '../proxy-options.js';
import type { ProxyTls } from '../../proxy/types.js';
import type { SwarmPlan } from '../../reconcile/swarm/plan.js';
import { UsageError } from '../usage.js';
import { heldClaims } from '../../reconcile/docker/held-claims.js';
import { GIT_FLAGS, gitSettings, type GitSettings } from '../git-options.js';
import { HostPathCheckingSource } from '../../manifest/host-paths.js';
import { SECRET_FLAGS, identityFiles, secretDecrypter, withSecrets } from '../secret-options.js';
import { redactUrl } from '../../source/git/redact-url.js';
import { describeCommit } from '../../source/types.js';

const PLAN_FLAGS = {
  manifests: { type: 'string', default: 'manifests' },
  'exit-code': { type: 'boolean', default: false },
  'allow-empty': { type: 'boolean', default: false },
  'keep-revisions': { type: 'string', default: '5' },
  runtime: { type: 'string', default: 'docker' },
  'swarm-registry': { type: 'string' },
  ...GIT_FLAGS,
  ...SECRET_FLAGS,
  ...PROXY_FLAGS,
} as const;

/**
 * What one pass would do now, per app, with reasons. Changes nothing. Under the headline of an app
 * with something to do, a diff of what runs against what the manifest wants (env keys only).
 * Exits 1 when the directory has problems (as `validate`), else 2 with `--exit-code` while
 * changes are pending.
 */
export async function planCommand(args: string[], out: Output): Promise<number> {
  const { values } = parseCommand(args, PLAN_FLAGS, false);
  const shared = sharedOptions(values);
  const { namespace } = shared;
  const keepRevisions = positiveInteger(values, 'keep-revisions', 1, HISTORY_LIMIT);
  if (values.runtime !== 'docker' && values.runtime !== 'swarm')
    throw new UsageError(`--runtime must be docker or swarm, not "${values.runtime}"`);
  // The engine is asked first, while the rest is set up.
  const runtime = createDockerRuntime();
  const containers = settle(runtime.listContainers(namespace));
  const tls = await tlsSettings(values, namespace);
  const traffic = trafficRouter(
    values,
    namespace,
    silentLogger(),
    tls ? await storedCertificates(tls, shared.stateDir, namespace) : undefined,
  );
  const git = await gitSettings(values);
  const checkout = git ? await fetchOnce(git, out) : undefined;
  if (checkout === null) return 1;
  const directory = new ManifestDirectory(checkout?.dir ?? resolve(values.manifests), {
    namespace,
    allowHostPaths: shared.allowHostPaths,
    ...claimOptions(values),
  });
  // As run reads: on one host, host paths are checked where they would be mounted.
  const manifests = await withSecrets(
    values.runtime === 'docker' ? await HostPathCheckingSource.create(directory, shared.allowHostPaths) : directory,
    await secretDecrypter(identityFiles(values)),
    shared,
    checkout ? { checkout: checkout.root } : {},
  );
  const desired = new DesiredState(values['allow-empty'], claimOptions(values));
  const [state, running, routed, read] = await Promise.all([
    StateStore.read(shared.stateDir, namespace),
    unsettle(containers),
    traffic.routed(),
    manifests.read(),
  ]);
  // As at berth's start: who keeps a contested port or domain is judged on what the host holds.
  desired.setHostClaims(heldClaims(running, routed));
  desired.update(read);
  if (values.runtime === 'swarm')
    return planSwarm(out, {
      namespace,
      desired,
      exitCode: values['exit-code'],
      state,
      ...(values['swarm-registry'] !== undefined ? { registry: values['swarm-registry'] } : {}),
    });
  const names = [...new Set([...desired.names(), ...running.map((c) => c.app), ...routed])].sort();

  const containersOf = containersByApp(running);
  const previews = await Promise.all(
    names.map((name) =>
      previewApp(
        { runtime, clock: systemClock, state, traffic, desired: (n) => desired.get(n) },
        { namespace, proxy: traffic !== directTraffic, keepRevisions },
        name,
        containersOf.get(name) ?? [],
      ),
    ),
  );
  let pending = 0;
  names.forEach((name, i) => {
    const { plan, diff } = previews[i]!;
    if (plan.actions.length > 0) pending++;
    out.stdout(describePlan(name, plan, formatDiff(diff)));
  });
  return finish(out, desired, names.length, pending, values['exit-code']);
}

/** `promise` held without an unhandled rejection until unsettle() awaits it. */
function settle<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

async function unsettle<T>(settled: Promise<{ value: T } | { error: unknown }>): Promise<T> {
  const outcome = await settled;
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

/**
 * For `plan --git`: the branch's head fetched once into a temporary directory (removed at exit),
 * named on the first line; null (after printing why) when the remote cannot be read.
 */
async function fetchOnce(git: GitSettings, out: Output): Promise<{ dir: string; root: string } | null> {
  const [{ GitSource }, { mkdtemp }, { rmSync }, { tmpdir }, { join }] = await Promise.all([
    import('../../source/git/git-source.js'),
    import('node:fs/promises'),
    import('node:fs'),
    import('node:os'),
    import('node:path'),
  ]);
  const dir = await mkdtemp(join(tmpdir(), 'berth-plan-git-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  let error: string | undefined;
  const source = new GitSource(
    {
      url: git.url,
      branch: git.branch,
      path: git.path,
      intervalMs: 3_600_000,
      dir,
      ...(git.signatures ? { signatures: git.signatures } : {}),
    },
    {
      clock: systemClock,
      logger: silentLogger(),
      onTree: () => undefined,
      onCondition: (condition) => (error = condition.error),
    },
  );
  await source.start();
  await source.stop();
  const commit = source.commit();
  if (!commit) {
    out.stderr(`berth: cannot read ${redactUrl(git.url)}@${git.branch}: ${error ?? 'no commit'}\n`);
    return null;
  }
  out.stdout(
    `commit ${describeCommit(commit)} (${redactUrl(git.url)}@${git.branch}${git.path ? `:${git.path}` : ''})${error ? `; not applied: ${error}` : ''}\n`,
  );
  return { dir: source.manifestsDir, root: source.checkoutDir };
}

/** The certificates `run` would serve now (those on disk; plan orders none), for judging routes as `run` would. */
async function storedCertificates(tls: TlsSettings, stateDir: string, namespace: string): Promise<ProxyTls> {
  const { certificatesOnDisk } = await import('../../tls/certificates-on-disk.js');
  const certificates = await certificatesOnDisk(stateDir, namespace, tls.ownDir);
  return {
    listen: tls.listen,
    ...(tls.challengeRoot !== undefined ? { challengeRoot: tls.challengeRoot } : {}),
    certificates,
  };
}

/** The directory's problems and warnings, then the exit code: 1 with problems, 2 with `--exit-code` and changes pending. */
function finish(out: Output, desired: DesiredState, apps: number, pending: number, exitCode: boolean): number {
  const problems = desired.problems();
  for (const problem of problems) out.stdout(`! ${formatProblem(problem)}\n`);
  for (const warning of desired.warnings()) out.stdout(`! ${formatProblem(warning)}\n`);
  if (apps === 0) out.stdout('no apps\n');
  if (problems.length > 0) return 1;
  return exitCode && pending > 0 ? 2 : 0;
}

/** `plan --runtime swarm`: each app's service, what a pass would send to Swarm. */
async function planSwarm(
  out: Output,
  context: { namespace: string; desired: DesiredState; exitCode: boolean; state: StateStore; registry?: string },
): Promise<number> {
  const [{ createSwarmRuntime }, { SwarmReconciler }] = await Promise.all([
    import('../../runtime/docker/swarm-runtime.js'),
    import('../../reconcile/swarm/reconciler.js'),
  ]);
  const { namespace, desired, state } = context;
  const services = createSwarmRuntime();
  await services.swarm();
  const reconciler = new SwarmReconciler(
    { services, clock: systemClock, logger: silentLogger(), state, desired: (n) => desired.get(n) },
    { namespace, stopTimeoutSeconds: 10, ...(context.registry !== undefined ? { registry: context.registry } : {}) },
  );
  const names = [...new Set([...desired.names(), ...(await reconciler.apps())])].sort();
  let pending = 0;
  for (const name of names) {
    const plan = await reconciler.preview(name);
    if (plan.actions.length > 0) pending++;
    out.stdout(describeSwarmPlan(name, plan));
  }
  return finish(out, desired, names.length, pending, context.exitCode);
}

/** The headline, then one line per call berth would send to Swarm. */
export function describeSwarmPlan(name: string, plan: SwarmPlan): string {
  const lines = [`${name}: ${headlineOf(plan)}`];
  for (const action of plan.actions) {
    if (action.type === 'create')
      lines.push(
        `  + create service ${action.spec.name} (${action.spec.image}, ${action.spec.replicas} replica(s), ${action.spec.update.order})  (${action.reason})`,
      );
    else if (action.type === 'update')
      lines.push(
        `  ~ update service ${action.spec.name} to ${action.spec.image}${action.rolling ? `, rolled out ${action.spec.update.order}` : ''}  (${action.reason})`,
      );
    else if (action.type === 'push') lines.push(`  ↑ push ${action.source} as ${action.target}  (${action.reason})`);
    else if (action.type === 'route')
      lines.push(`  → route the proxy to ${action.endpoints.join(', ') || 'nothing (503)'}  (${action.reason})`);
    else if (action.type === 'unroute') lines.push(`  - remove the proxy route  (${action.reason})`);
    else lines.push(`  - remove service ${action.id.slice(0, 12)}  (${action.reason})`);
  }
  if (plan.resume) lines.push('  … Swarm is rolling it out now; a pass watches it to its end');
  return `${lines.join('\n')}\n`;
}

/** What a plan does, in one line. */
function headlineOf(
  plan: Pick<Plan, 'refused' | 'outcome' | 'gone' | 'rollout'> & { actions: readonly unknown[] },
): string {
  return plan.refused
    ? `refused: ${plan.refused}`
    : plan.outcome.phase === 'Invalid' && plan.actions.length === 0
      ? `invalid, nothing changes for it: ${plan.outcome.message}`
      : plan.gone
        ? plan.actions.length > 0
          ? 'remove (manifest gone)'
          : 'gone'
        : plan.rollout
          ? `deploy ${plan.rollout.image}:${plan.rollout.tag} (${plan.rollout.strategy})`
          : plan.actions.length > 0
            ? 'repair'
            : `up to date: ${plan.outcome.phase}, ${plan.outcome.message}`;
}

/** The headline, then `diff` (lines already indented), then one line per action. */
export function describePlan(name: string, plan: Plan, diff: readonly string[] = []): string {
  const lines = [
    `${name}: ${headlineOf(plan)}`,
    ...diff,
    ...plan.actions.map((a) => `  ${SYMBOL[a.type]} ${describeAction(a)}  (${a.reason})`),
  ];
  if (plan.requeueAfterMs !== undefined && plan.actions.every((a) => a.type !== 'retire'))
    lines.push(`  … old containers retire in ${Math.ceil(plan.requeueAfterMs / 1000)}s`);
  return `${lines.join('\n')}\n`;
}

const SYMBOL: Record<Action['type'], string> = {
  pull: '↓',
  tag: '#',
  stop: '■',
  remove: '-',
  create: '+',
  check: '?',
  switch: '→',
  retag: '#',
  retire: '-',
  route: '→',
  unroute: '-',
  untag: '-',
  release: '▶',
  postDeploy: '▶',
  probe: '?',
  rollback: '←',
};

function describeAction(action: Action): string {
  switch (action.type) {
    case 'pull':
      return `pull ${action.ref}`;
    case 'tag':
      return `tag ${action.repository}:${action.tag}`;
    case 'stop':
      return `stop ${action.container.name}`;
    case 'remove':
      return `remove ${action.container.name}`;
    case 'create': {
      const env = Object.keys(action.spec.env);
      const ports = action.spec.ports.map((p) => `${p.hostIp}:${p.host ?? '*'}->${p.container}/${p.protocol}`);
      return `create ${action.spec.name}${ports.length ? ` ports ${ports.join(',')}` : ''}${env.length ? ` env ${env.join(',')}` : ''}`;
    }
    case 'check':
      return `check ${action.containers.join(', ')}`;
    case 'switch':
      return `switch traffic to ${parseRevisionKey(action.revision).specHash}`;
    case 'retag':
      return `tag ${action.repository}:latest${action.previous ? ` (and :previous)` : ''}`;
    case 'retire':
      return `retire ${action.containers.map((c) => c.name).join(', ')}`;
    case 'route':
      return `route the proxy to ${action.endpoints.join(', ') || 'nothing (503)'}`;
    case 'unroute':
      return 'remove the proxy route';
    case 'untag':
      return `untag ${action.refs.join(', ')}`;
    case 'release':
      return `release ${JSON.stringify(action.hook.command)} in a one-off container of ${shortId(action.imageId)} (timeout ${action.hook.timeout}s)`;
    case 'postDeploy':
      return `post-deploy ${JSON.stringify(action.hook.command)} in ${action.container}`;
    case 'probe':
      return `probe ${action.containers.join(', ')}`;
    case 'rollback':
      return `switch traffic back to ${parseRevisionKey(action.to).specHash}, remove ${action.containers.map((c) => c.name).join(', ')}`;
  }
}
