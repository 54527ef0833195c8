/**
 * What `berth plan` shows for one app: the plan a reconcile would make now and, when it changes
 * something, the diff of what runs against the manifest. Reads the engine, the proxy and berth's
 * record; changes nothing.
 */
import { ContainerNotFoundError } from '../../runtime/errors.js';
import type { ContainerDetail, ContainerSummary, Runtime } from '../../runtime/types.js';
import type { AppRecord } from '../../state/types.js';
import type { Observation, Plan } from './actions.js';
import { diffApp, type AppShape, type DiffLine } from '../core/diff.js';
import { observeApp, type ObserveDeps, type ObserveOptions } from './observe.js';
import { planApp } from './plan.js';
import { runningRevision } from './serving.js';
import { desiredShape, runningShape } from './shapes.js';

/** The plan a reconcile would make now, what it was made from, and the diff it would apply. */
export interface DockerPreview {
  plan: Plan;
  /** Empty when the plan changes nothing or refuses. */
  diff: DiffLine[];
  observation: Observation;
}

/** `listed`: the app's containers, when the caller has listed them already. */
export async function previewApp(
  deps: ObserveDeps,
  options: ObserveOptions,
  name: string,
  listed?: ContainerSummary[],
): Promise<DockerPreview> {
  const observation = await observeApp(deps, options, name, listed);
  const plan = planApp(observation);
  if (plan.actions.length === 0 || plan.refused !== undefined) return { plan, diff: [], observation };
  const running = await observeRunningShape(deps.runtime, observation, deps.state.get(name));
  return { plan, diff: diffApp(running, desiredShape(observation)), observation };
}

/** Inspects one container of what runs now, and its image; undefined when nothing runs. */
async function observeRunningShape(
  runtime: Runtime,
  observation: Observation,
  record: AppRecord | undefined,
): Promise<AppShape | undefined> {
  const now = runningRevision(observation.containers, record);
  if (!now) return undefined;
  const detail = await inspectAny(runtime, now.containers);
  if (!detail) return undefined;
  return runningShape(now, detail, await runtime.inspectImage(detail.imageId), record);
}

/** The first of `containers` still there to inspect (a running controller may remove one meanwhile). */
async function inspectAny(
  runtime: Runtime,
  containers: readonly ContainerSummary[],
): Promise<ContainerDetail | undefined> {
  for (const container of containers) {
    try {
      return await runtime.inspectContainer(container.id);
    } catch (error) {
      if (!(error instanceof ContainerNotFoundError)) throw error;
    }
  }
  return undefined;
}
