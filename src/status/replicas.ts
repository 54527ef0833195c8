/**
 * The replicas of an app as status reports them (`status --json`, `/api/apps`, the status page):
 * on one host the containers of the engine berth talks to; on Swarm the tasks of the manager's
 * task list, on whichever node each runs. Pure: the caller lists the containers or the tasks.
 */
import { revisionKey } from '../reconcile/core/revision.js';
import type { NodeSummary, TaskState, TaskSummary } from '../runtime/services.js';
import type { ContainerSummary } from '../runtime/types.js';
import type { AppRecord } from '../state/types.js';
import { shortId } from '../util/short-id.js';

/** What the manager reported: the namespace's tasks (or one app's), and every node of the swarm. */
export interface SwarmTasks {
  tasks: readonly TaskSummary[];
  nodes: readonly NodeSummary[];
}

/** What of an app's record names the tag each revision was deployed as. */
type RevisionTags = Pick<AppRecord, 'history' | 'servingRevision' | 'servingTag'>;

/** A node of the swarm, as a replica names it. */
export interface ReplicaNode {
  id: string;
  /** Its hostname ('' when unknown; nodes on one machine may share one: the id tells them apart). */
  name: string;
  /** Where it is reached, and its tasks publish their ports ('' when unknown). */
  address: string;
}

/** One replica of an app: a Swarm task on some node, or a container on this host. */
export interface ReplicaStatus {
  /** Swarm's task id; on one host the container's short id. */
  id: string;
  /** `APP.SLOT` for a task (Swarm's name for it, without the namespace); the container's name on one host. */
  name: string;
  /** Swarm's slot (from 1), or the container's replica (from 0); null when unknown. */
  slot: number | null;
  /** The node the task is on; null on one host, and for a task Swarm has not placed yet. */
  node: ReplicaNode | null;
  /** The task's state (`running`, `starting`, `failed`...) or the container's (`running`, `exited`...). */
  state: string;
  /** What Swarm means the task to be (`running`; `shutdown` while an old task stops); null on one host. */
  desiredState: string | null;
  /** The revision it runs, `specHash@image`: the key `history` records each deploy under. */
  revision: string;
  /** The tag berth deployed that revision as, when its record says. */
  tag: string | null;
  /** Why it is not running: the task's error, else the last failed task of its slot's; null when none. */
  error: string | null;
  /** When the task or container was made (ISO 8601); null when unknown. */
  createdAt: string | null;
}

/** Task states of a task that is on its way to running, or runs. */
const LIVE_TASK_STATES: ReadonlySet<TaskState> = new Set([
  'new',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
]);

/** Task states of a task that ended without finishing its work. */
const FAILED_TASK_STATES: ReadonlySet<TaskState> = new Set(['failed', 'rejected', 'orphaned']);

/**
 * The tasks that make up the app now: those Swarm means to run, and old ones still running while a
 * rollout stops them. Ended tasks Swarm keeps as history, and one-off jobs (desired `complete`), are not replicas.
 */
function currentTasks(tasks: readonly TaskSummary[]): TaskSummary[] {
  return tasks.filter(
    (t) => t.desiredState === 'running' || (t.desiredState === 'shutdown' && LIVE_TASK_STATES.has(t.state)),
  );
}

/** The revision key a task runs (`specHash@digest`, as the Swarm reconciler records it: the reference itself when not pinned). */
export function taskRevision(task: Pick<TaskSummary, 'specHash' | 'image'>): string {
  return `${task.specHash}@${imageIdOf(task.image ?? '')}`;
}

/** Each current task of the app as a replica, by slot, the newest task of a slot first. */
export function taskReplicas(app: SwarmTasks, record: RevisionTags | undefined): ReplicaStatus[] {
  return currentTasks(app.tasks)
    .sort((a, b) => a.slot - b.slot || b.createdAt - a.createdAt)
    .map((task) => taskReplica(task, app, record));
}

/** One task as a replica: its node from `swarm.nodes`, its error (or its slot's last one) from `swarm.tasks`. */
export function taskReplica(task: TaskSummary, swarm: SwarmTasks, record: RevisionTags | undefined): ReplicaStatus {
  const node = swarm.nodes.find((n) => n.id === task.nodeId);
  const revision = taskRevision(task);
  return {
    id: task.id,
    name: `${task.app}.${task.slot}`,
    slot: task.slot,
    node: task.nodeId === '' ? null : { id: task.nodeId, name: node?.hostname ?? '', address: node?.addr ?? '' },
    state: task.state,
    desiredState: task.desiredState,
    revision,
    tag: tagOf(revision, record),
    error: taskError(task, swarm.tasks),
    createdAt: isoOrNull(task.createdAt),
  };
}

/** Each container of the app on this host as a replica. */
export function containerReplicas(
  containers: readonly ContainerSummary[],
  record: RevisionTags | undefined,
): ReplicaStatus[] {
  return containers.map((c) => {
    const revision = revisionKey(c);
    return {
      id: shortId(c.id),
      name: c.name,
      slot: c.replica >= 0 ? c.replica : null,
      node: null,
      state: c.state,
      desiredState: null,
      revision,
      tag: tagOf(revision, record),
      error: null,
      createdAt: isoOrNull(c.createdAt),
    };
  });
}

/**
 * The current tasks that run, as the containers `runningRevision` judges (their image id the
 * digest a Swarm revision names), so that one rule says what runs on either engine.
 */
export function runningTaskContainers(tasks: readonly TaskSummary[]): ContainerSummary[] {
  return currentTasks(tasks)
    .filter((t) => t.state === 'running')
    .map((t) => ({
      id: t.id,
      name: `${t.app}.${t.slot}`,
      app: t.app,
      specHash: t.specHash,
      replica: t.slot,
      imageId: imageIdOf(t.image ?? ''),
      state: 'running',
      labels: {},
      createdAt: t.createdAt,
      ports: [],
    }));
}

/** `2/2 running on node-a, node-b`: how many of the replicas Swarm means to run do, and where. */
export function replicaSummary(replicas: readonly ReplicaStatus[]): string {
  const meant = replicas.filter((r) => r.desiredState === null || r.desiredState === 'running');
  const running = meant.filter((r) => r.state === 'running');
  const where = describeNodes(running.flatMap((r) => (r.node ? [r.node] : [])));
  return `${running.length}/${meant.length} running${where !== '' ? ` on ${where}` : ''}`;
}

/**
 * `node-a, node-b`: each node once, by hostname; where two of them share one (nodes on one
 * machine), `hostname@address`; a node without a hostname by its short id.
 */
export function describeNodes(nodes: readonly ReplicaNode[]): string {
  const distinct = [...new Map(nodes.map((n) => [n.id, n])).values()];
  const shared = (node: ReplicaNode) => distinct.some((other) => other.id !== node.id && other.name === node.name);
  return distinct
    .map((node) => {
      if (node.name === '') return node.id.slice(0, 12);
      return shared(node) ? `${node.name}@${node.address || node.id.slice(0, 12)}` : node.name;
    })
    .join(', ');
}

/** What a replica runs, for people: the tag it was deployed as, else the first 12 characters of its spec hash. */
export function revisionLabel(replica: Pick<ReplicaStatus, 'tag' | 'revision'>): string {
  if (replica.tag !== null) return replica.tag;
  const at = replica.revision.indexOf('@');
  return (at < 0 ? replica.revision : replica.revision.slice(0, at)).slice(0, 12);
}

/** A node for people: its hostname, else its short id. */
export function nodeLabel(node: ReplicaNode): string {
  return node.name !== '' ? node.name : node.id.slice(0, 12);
}

/** The tag a revision was deployed as: its newest deploy in the record, else the serving tag when it serves. */
function tagOf(revision: string, record: RevisionTags | undefined): string | null {
  const deploy = record?.history.find((h) => h.revision === revision);
  if (deploy) return deploy.tag;
  return record?.servingRevision === revision ? (record.servingTag ?? null) : null;
}

/** The task's own error; for one not running without one, the error of the newest earlier failed task of its slot. */
function taskError(task: TaskSummary, all: readonly TaskSummary[]): string | null {
  if (task.error !== '') return task.error;
  if (task.state === 'running') return null;
  const failed = all
    .filter(
      (t) =>
        t.slot === task.slot &&
        t.app === task.app &&
        t.id !== task.id &&
        t.createdAt <= task.createdAt &&
        FAILED_TASK_STATES.has(t.state) &&
        t.error !== '',
    )
    .sort((a, b) => b.createdAt - a.createdAt)[0];
  return failed?.error ?? null;
}

/** The `sha256:...` a pinned reference names, else the reference itself (how the Swarm reconciler keys a revision). */
function imageIdOf(image: string): string {
  const at = image.indexOf('@');
  return at < 0 ? image : image.slice(at + 1);
}

function isoOrNull(ms: number): string | null {
  return ms > 0 && Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}
