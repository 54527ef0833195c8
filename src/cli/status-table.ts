/**
 * `berth status` for people: one line per app; on Swarm, one line per task with its node; then
 * the certificates. Pure: the statuses and the time come in, the text goes out.
 */
import { runningLabel, type AppStatus } from '../status/app-status.js';
import { nodeLabel, revisionLabel, type ReplicaStatus } from '../status/replicas.js';
import { age } from '../util/age.js';
import { formatTable } from './table.js';

/** The tables `status` prints for `statuses` (at least one) at `now` (ms since the epoch). */
export function statusTables(statuses: readonly AppStatus[], now: number): string {
  const apps = statuses.map((s) => [
    s.app,
    // With --git: the commit of the tree the serving deploy was read from, and the commit that last changed the app's file when another.
    (s.desiredTag ?? '-') +
      (s.commit
        ? ` (${s.commit.sha.slice(0, 7)}${s.changedBy && s.changedBy.sha !== s.commit.sha ? `, changed by ${s.changedBy.sha.slice(0, 7)}` : ''})`
        : ''),
    runningLabel(s, '-'),
    s.phase,
    age(now, toMillis(s.lastDeployAt ?? s.since)),
    s.message,
  ]);
  let text = formatTable(['APP', 'DESIRED', 'RUNNING', 'PHASE', 'AGE', 'MESSAGE'], apps);
  const tasks = statuses.flatMap((s) => (s.runtime === 'swarm' ? s.replicas.map(taskRow) : []));
  if (tasks.length > 0) text += `\n${formatTable(['TASK', 'NODE', 'ADDRESS', 'STATE', 'REVISION', 'ERROR'], tasks)}`;
  const certificates = statuses.flatMap((s) =>
    s.certificates.map((c) => [
      c.domain,
      s.app,
      c.state,
      c.issuer ?? '-',
      c.notAfter === null ? '-' : c.notAfter.slice(0, 16).replace('T', ' '),
      c.error ?? '',
    ]),
  );
  if (certificates.length > 0)
    text += `\n${formatTable(['DOMAIN', 'APP', 'CERTIFICATE', 'ISSUER', 'EXPIRES (UTC)', 'LAST ERROR'], certificates)}`;
  const policies = statuses.flatMap((s) =>
    s.imagePolicy
      ? [
          [
            s.app,
            s.imagePolicy.policy,
            s.imagePolicy.newest ?? '-',
            s.imagePolicy.lastLookAt === null ? '-' : age(now, Date.parse(s.imagePolicy.lastLookAt)),
            s.imagePolicy.error ?? s.imagePolicy.waiting ?? '',
          ],
        ]
      : [],
  );
  if (policies.length > 0)
    text += `\n${formatTable(['APP', 'IMAGE POLICY', 'NEWEST', 'LOOKED', 'WHY THE TAG STAYS'], policies)}`;
  return text;
}

/** `web.1  node-a  10.0.0.5  running  v2`: a task, where it is, what it runs, and why it does not when it does not. */
function taskRow(task: ReplicaStatus): string[] {
  const stopping = task.desiredState !== null && task.desiredState !== 'running';
  return [
    task.name,
    task.node ? nodeLabel(task.node) : '-',
    task.node?.address || '-',
    `${task.state}${stopping ? ` (to ${task.desiredState})` : ''}`,
    revisionLabel(task),
    task.error ?? '',
  ];
}

function toMillis(iso: string | null): number | undefined {
  return iso === null ? undefined : Date.parse(iso);
}
