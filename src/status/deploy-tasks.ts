/**
 * Where each deploy's tasks ran (`berth history APP --runtime swarm`), from the tasks the
 * manager still reports: Swarm keeps a few ended tasks per slot (its task history limit, 5 by
 * default), so older deploys have none left. Pure.
 */
import type { AppRecord, DeployRecord } from '../state/types.js';
import { type ReplicaStatus, type SwarmTasks, taskReplica, taskRevision } from './replicas.js';

/**
 * The tasks of each deploy of `history` (same order), each task given to the deploy of its
 * revision that began last before the task was made (a revision deployed twice, or a task
 * rescheduled after its deploy, goes to the deploy it was made under); by slot, newest first.
 */
export function tasksByDeploy(
  history: readonly DeployRecord[],
  swarm: SwarmTasks,
  record: Pick<AppRecord, 'history' | 'servingRevision' | 'servingTag'> | undefined,
): ReplicaStatus[][] {
  const byDeploy = history.map((): ReplicaStatus[] => []);
  const tasks = [...swarm.tasks].sort((a, b) => a.slot - b.slot || b.createdAt - a.createdAt);
  for (const task of tasks) {
    const revision = taskRevision(task);
    const candidates = history.flatMap((deploy, index) => (deploy.revision === revision ? [index] : []));
    if (candidates.length === 0) continue;
    const began = (index: number) => history[index]!.at - history[index]!.durationMs;
    // The task was made after its deploy began (with leeway: the record may keep whole seconds); before every one, it goes to the oldest.
    const madeUnder = candidates
      .filter((index) => began(index) <= task.createdAt + CLOCK_LEEWAY_MS)
      .sort((a, b) => began(b) - began(a))[0];
    const index = madeUnder ?? candidates.sort((a, b) => began(a) - began(b))[0]!;
    byDeploy[index]!.push(taskReplica(task, swarm, record));
  }
  return byDeploy;
}

/** How far the manager's task times and berth's record may disagree (clocks, times kept in whole seconds). */
const CLOCK_LEEWAY_MS = 2_000;
