import { EngineUnavailableError } from '../../runtime/errors.js';
import { StateStore } from '../../state/store.js';
import type { AppRecord } from '../../state/types.js';
import { tasksByDeploy } from '../../status/deploy-tasks.js';
import { describeNodes, type ReplicaStatus } from '../../status/replicas.js';
import { shortId } from '../../util/short-id.js';
import { formatTable } from '../table.js';
import type { Commit } from '../../source/types.js';
import { oneLine } from '../../util/strip-control.js';
import { age } from '../../util/age.js';
import { appArguments, parseCommand, sharedOptions } from '../options.js';
import type { Output } from '../output.js';
import { RUNTIME_FLAG, runtimeKind } from '../runtime-flag.js';

/**
 * `berth history APP`: every deploy berth recorded for the app, newest first; `*` marks what
 * serves. With a git source, COMMIT is the commit of the tree the deploy was read from and
 * CHANGED BY the commit that last changed the app's manifest file (`?` while berth has not seen
 * the file change: the clone is shallow). With `--runtime swarm`, NODES (and `tasks` in --json)
 * says where each deploy's tasks ran, as far as the manager still reports them.
 */
export async function historyCommand(args: string[], out: Output): Promise<number> {
  const { values, positionals } = parseCommand(
    args,
    { json: { type: 'boolean', default: false }, ...RUNTIME_FLAG },
    true,
  );
  const shared = sharedOptions(values);
  const runtime = runtimeKind(values.runtime);
  const { app } = appArguments('history', positionals, false);
  const record = (await StateStore.read(shared.stateDir, shared.namespace)).get(app);
  if (!record) {
    out.stderr(`berth: no record of ${app} in namespace "${shared.namespace}" (state dir ${shared.stateDir})\n`);
    return 1;
  }
  const tasks =
    runtime === 'swarm'
      ? await deployTasks(shared.namespace, app, record).catch((error: unknown) => {
          if (!(error instanceof EngineUnavailableError)) throw error;
          out.stderr(
            `berth: the Docker engine is unreachable (${error.message}); showing ${app}'s history without its tasks\n`,
          );
          return undefined;
        })
      : undefined;
  if (values.json) {
    out.stdout(
      `${JSON.stringify(
        record.history.map((h, index) => ({
          ...h,
          at: new Date(h.at).toISOString(),
          serving: h.revision === record.servingRevision,
          ...(tasks ? { tasks: tasks[index] ?? [] } : {}),
        })),
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  if (record.history.length === 0) {
    out.stdout(`${app}: no deploys recorded yet (${record.phase}: ${record.message})\n`);
    return 0;
  }
  const now = Date.now();
  let servingMarked = false;
  // With --git: the commit of the tree each deploy was read from, and the commit that last changed the app's file.
  const commits = record.history.some((h) => h.commit !== undefined);
  const rows = record.history.map((h, index) => {
    const serving = !servingMarked && h.outcome === 'succeeded' && h.revision === record.servingRevision;
    servingMarked ||= serving;
    return [
      serving ? '*' : '',
      new Date(h.at)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z'),
      age(now, h.at),
      ...(commits ? [h.commit?.sha.slice(0, 7) ?? '', h.changedBy ? changedBy(h.changedBy) : h.commit ? '?' : ''] : []),
      `${h.image}:${h.tag}`,
      shortId(h.imageId),
      // People read "rolled back"; --json keeps the machine spelling `rolled_back`.
      h.outcome.replace('_', ' '),
      `${(h.durationMs / 1000).toFixed(1)}s`,
      ...(tasks ? [nodesOf(tasks[index] ?? [])] : []),
      h.reason ?? '',
    ];
  });
  out.stdout(
    formatTable(
      [
        '',
        'DEPLOYED',
        'AGE',
        ...(commits ? ['COMMIT', 'CHANGED BY'] : []),
        'IMAGE',
        'IMAGE ID',
        'RESULT',
        'TOOK',
        ...(tasks ? ['NODES'] : []),
        'REASON',
      ],
      rows,
    ),
  );
  return 0;
}

/** Each deploy's tasks the swarm manager still reports (one task list, one node list). */
async function deployTasks(namespace: string, app: string, record: AppRecord): Promise<ReplicaStatus[][]> {
  const { createSwarmRuntime } = await import('../../runtime/docker/swarm-runtime.js');
  const services = createSwarmRuntime();
  await services.swarm();
  const [tasks, nodes] = await Promise.all([services.listTasks(namespace, app), services.listNodes()]);
  return tasksByDeploy(record.history, { tasks, nodes }, record);
}

/** `node-a, node-b`: where a deploy's tasks ran; `-` when the manager reports none of them any more. */
function nodesOf(tasks: readonly ReplicaStatus[]): string {
  return describeNodes(tasks.flatMap((t) => (t.node ? [t.node] : []))) || '-';
}

/** `def5678 bump web to v2`: the commit that last changed the app's manifest, its subject cut to fit a column. */
function changedBy(commit: Commit): string {
  const subject = oneLine(commit.subject);
  return `${commit.sha.slice(0, 7)} ${subject.length > SUBJECT_SHOWN ? `${subject.slice(0, SUBJECT_SHOWN - 1)}…` : subject}`;
}

const SUBJECT_SHOWN = 40;
