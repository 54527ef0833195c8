import { resolve } from 'node:path';
import { DesiredState } from '../../controller/desired-state.js';
import { formatProblem } from '../../manifest/types.js';
import { formatDiff } from '../../reconcile/core/diff.js';
import type { AppPreview } from '../../reconcile/core/reconciler.js';
import { describeCommit } from '../../source/types.js';
import { redactUrl } from '../../source/git/redact-url.js';
import { StateStore } from '../../state/store.js';
import { HISTORY_LIMIT } from '../../state/types.js';
import { systemClock } from '../../util/clock.js';
import { silentLogger } from '../../util/silent-logger.js';
import { ENGINE_FLAGS, composeEngine, engineChoice } from '../compose/engine.js';
import { branchLabel, type FetchedHead, fetchOnce } from '../compose/git.js';
import { tagSources } from '../compose/images.js';
import { manifestSource } from '../compose/manifests.js';
import { policyPreview } from '../../images/preview.js';
import { plannedProxy } from '../compose/proxy.js';
import { GIT_FLAGS, type GitSettings, gitSettings } from '../git-options.js';
import { parseCommand, positiveInteger, sharedOptions } from '../options.js';
import type { Output } from '../output.js';
import { PROXY_FLAGS, proxySettings } from '../proxy-options.js';
import { SECRET_FLAGS, identityFiles, secretDecrypter } from '../secret-options.js';

const PLAN_FLAGS = {
  manifests: { type: 'string', default: 'manifests' },
  'exit-code': { type: 'boolean', default: false },
  'allow-empty': { type: 'boolean', default: false },
  'keep-revisions': { type: 'string', default: '5' },
  ...ENGINE_FLAGS,
  ...GIT_FLAGS,
  ...SECRET_FLAGS,
  ...PROXY_FLAGS,
} as const;

/** The longest plan waits for a registry to list an app's tags. */
const POLICY_LOOK_MS = 30_000;

/** How long `run` gives a container to stop, by default: what a plan's steps would wait. */
const STOP_TIMEOUT_SECONDS = 10;

/**
 * What one pass would do now, per app, with reasons. Changes nothing. Under the headline of an app
 * with something to do, a diff of what runs against what the manifest wants (env keys only), then
 * one line per step. Exits 1 when the directory has problems (as `validate`), else 2 with
 * `--exit-code` while changes are pending.
 *
 * berth is composed as `run` composes it (the same engine, proxy and manifest pipeline), with a
 * silent logger and the stored state, which it never writes; each app's preview is judged on one
 * look at the host, as at berth's start.
 */
export async function planCommand(args: string[], out: Output): Promise<number> {
  const { values } = parseCommand(args, PLAN_FLAGS, false);
  const shared = sharedOptions(values);
  const { namespace } = shared;
  const keepRevisions = positiveInteger(values, 'keep-revisions', 1, HISTORY_LIMIT);
  const choice = engineChoice(values);
  const proxying = await proxySettings(values, namespace);
  const proxy = await plannedProxy(proxying, shared);
  const git = await gitSettings(values);
  const head = git ? await fetchedHead(git, out) : undefined;
  if (git && !head) return 1;
  const engine = composeEngine(choice, {
    namespace,
    clock: systemClock,
    logger: silentLogger(),
    stopTimeoutSeconds: STOP_TIMEOUT_SECONDS,
    keepRevisions,
  });
  const desired = new DesiredState(values['allow-empty'], proxying.claims);
  const manifests = await manifestSource({
    dir: resolve(values.manifests),
    shared,
    claims: proxying.claims,
    engine,
    decrypter: await secretDecrypter(identityFiles(values)),
    git: head,
  });
  const state = await StateStore.read(shared.stateDir, namespace);
  const reconciler = await engine.reconciler({ state, proxy, desired });
  const [host, read] = await Promise.all([reconciler.observeHost(), manifests.read()]);
  // As at berth's start: who keeps a contested port or domain is judged on what the host holds.
  desired.setHostClaims((app, claim) => host.holds(app, claim));
  desired.update(read);
  const names = [...new Set([...desired.names(), ...host.apps()])].sort();
  const previews = await Promise.all(names.map((name) => reconciler.preview(name, host)));
  // An app's image policy: what one look at its repository finds, as `run` would judge it.
  const sources = tagSources(engine.runtime, systemClock);
  await Promise.all(
    names.map(async (name, i) => {
      const wanted = desired.get(name);
      if (wanted.kind !== 'present' || wanted.invalid !== undefined) return;
      const record = state.get(name);
      const repository = state.repository(wanted.app.spec.image);
      const note = await policyPreview(
        wanted.app,
        { ...(record ? { app: record } : {}), ...(repository ? { repository } : {}) },
        sources,
        systemClock.now(),
        AbortSignal.timeout(POLICY_LOOK_MS),
      );
      if (note !== undefined) previews[i] = { ...previews[i]!, notes: [...previews[i]!.notes, note] };
    }),
  );
  names.forEach((name, i) => {
    out.stdout(describePreview(name, previews[i]!));
  });
  const pending = previews.filter((preview) => preview.steps.length > 0).length;
  return finish(out, desired, names.length, pending, values['exit-code']);
}

/**
 * For `plan --git`: the branch's head fetched once, named on the first line; undefined (after
 * saying why) when the remote cannot be read.
 */
async function fetchedHead(git: GitSettings, out: Output): Promise<FetchedHead | undefined> {
  const head = await fetchOnce(git);
  if ('unreadable' in head) {
    out.stderr(`berth: cannot read ${redactUrl(git.url)}@${git.branch}: ${head.unreadable}\n`);
    return undefined;
  }
  const notApplied = head.notApplied ? `; not applied: ${head.notApplied}` : '';
  out.stdout(`commit ${describeCommit(head.commit)} (${branchLabel(git)})${notApplied}\n`);
  return head;
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

/**
 * One app's preview as `plan` prints it: the headline, the diff (indented), one line per step
 * (`  <symbol> <text>  (<reason>)`), then the notes, indented as the steps.
 */
export function describePreview(name: string, preview: AppPreview): string {
  const lines = [
    `${name}: ${headlineOf(preview)}`,
    ...formatDiff(preview.diff),
    ...preview.steps.map((step) => `  ${step.symbol} ${step.text}  (${step.reason})`),
    ...preview.notes.map((note) => `  ${note}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** What a preview does, in one line. */
function headlineOf({ plan, steps }: Pick<AppPreview, 'plan' | 'steps'>): string {
  return plan.refused
    ? `refused: ${plan.refused}`
    : plan.outcome.phase === 'Invalid' && steps.length === 0
      ? `invalid, nothing changes for it: ${plan.outcome.message}`
      : plan.gone
        ? steps.length > 0
          ? 'remove (manifest gone)'
          : 'gone'
        : plan.rollout
          ? `deploy ${plan.rollout.image}:${plan.rollout.tag} (${plan.rollout.strategy})`
          : steps.length > 0
            ? 'repair'
            : `up to date: ${plan.outcome.phase}, ${plan.outcome.message}`;
}
