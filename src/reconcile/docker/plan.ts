/**
 * The planner: a pure function from what berth observes about one app to the actions that move
 * it toward its manifest, each with a reason. No I/O; everything it needs is in the Observation.
 *
 * A rollout (zero-downtime): create the new revision's containers, check them, switch traffic,
 * retag `latest`/`previous`, and retire the old containers `retireAfter` seconds after the switch.
 * With `recreate` the old containers are stopped before the new ones start. The plan for any
 * intermediate state (berth killed mid-deploy) continues from what is there: containers of the
 * desired revision that never took traffic are checked again, never trusted.
 */
import type { App } from '../../manifest/types.js';
import { LABEL_SECRETS, type ContainerDetail, type ContainerSummary } from '../../runtime/types.js';
import type { Action, ContainerRef, Desired, Observation, Plan, RollbackTarget } from './actions.js';
import { containerSpecFor, releaseContainerSpec } from './container-spec.js';
import { effectiveStrategy } from '../core/strategy.js';
import { releasableTags } from './retention.js';
import { routeTargets } from './serving.js';
import { CANARY_LOOK_MS, canaryFor, canaryRoute, firstCanaryStep, planCanaryUnderWay } from './plan-canary.js';
import { digestMatches } from './local-image.js';
import { parseRevisionKey, revisionKey, specHash, type Revision } from '../core/revision.js';
import { appRepository, imageRef } from '../../manifest/image-ref.js';

/** The actions that move the observed app toward its manifest now, and where it ends up once they are done. */
export function planApp(observation: Observation): Plan {
  const { desired } = observation;
  const plan = desired.kind === 'absent' ? planRemoval(observation, desired) : planPresent(observation, desired.app);
  if (desired.kind === 'present' && desired.invalid !== undefined)
    plan.outcome = { phase: 'Invalid', message: desired.invalid };
  // A refused plan is not carried out: nothing of it is planned.
  if (plan.refused === undefined) plan.actions.push(...sweepSecrets(observation, plan.actions));
  return plan;
}

/**
 * The app's decrypted secret files that no container of it mounts once `actions` are done (label
 * berth.secrets: the digest a container's files were written under), except those of the
 * revision the manifest wants; all of them, and the app's directory, when nothing is kept. None
 * when the directory failed its checks (`unsafe`): nothing is removed through it.
 */
function sweepSecrets(observation: Observation, actions: readonly Action[]): Action[] {
  const { secretFiles, desired } = observation;
  if (secretFiles === undefined || secretFiles.unsafe !== undefined) return [];
  const going = new Set(actions.flatMap(containersRemovedBy).map((c) => c.id));
  const mounted = [
    ...observation.containers.filter((c) => !going.has(c.id)).map((c) => c.labels[LABEL_SECRETS]),
    ...actions.map((a) => (a.type === 'create' ? a.spec.labels[LABEL_SECRETS] : undefined)),
  ];
  const wanted = desired.kind === 'present' ? desired.app.spec.resolved?.digest : undefined;
  const keep = [...new Set([...mounted, wanted].filter((d): d is string => d !== undefined))].sort();
  const remove = secretFiles.digests.filter((d) => !keep.includes(d));
  if (keep.length > 0 && remove.length === 0) return [];
  return [
    {
      type: 'sweepSecrets',
      root: secretFiles.root,
      keep,
      remove,
      reason:
        desired.kind === 'absent' && keep.length === 0
          ? 'its manifest was removed'
          : 'no container of the app mounts them',
    },
  ];
}

/** The containers an action stops and removes for good. */
function containersRemovedBy(action: Action): ContainerRef[] {
  if (action.type === 'remove') return [action.container];
  if (action.type === 'retire' || action.type === 'rollback') return action.containers;
  return [];
}

function planRemoval(observation: Observation, desired: Extract<Desired, { kind: 'absent' }>): Plan {
  const { containers } = observation;
  // Named only by a manifest that was never valid: nothing to remove, nothing to deploy.
  if (containers.length === 0 && desired.invalid !== undefined)
    return { actions: [], outcome: { phase: 'Invalid', message: desired.invalid } };
  const unroute: Action[] = observation.route.held ? [{ type: 'unroute', reason: 'its manifest was removed' }] : [];
  if (containers.length === 0)
    return { actions: unroute, outcome: { phase: 'Running', message: 'removed' }, gone: true };
  if (desired.hold !== undefined) {
    return { actions: [], outcome: { phase: 'Running', message: `manifest gone, removal held: ${desired.hold}` } };
  }
  return {
    actions: [...unroute, { type: 'retire', containers: containers.map(refOf), reason: 'its manifest was removed' }],
    outcome: { phase: 'Running', message: 'removed' },
    gone: true,
  };
}

function planPresent(observation: Observation, app: App): Plan {
  const { namespace, containers } = observation;
  const { spec } = app;
  const ref = imageRef(spec.image, spec.tag);
  const localRepository = appRepository(namespace, app.name);
  const anyRunning = containers.some(isRunning);
  const refused = (reason: string): Plan => ({
    actions: [],
    outcome: { phase: anyRunning ? 'Degraded' : 'Failed', message: reason },
    refused: reason,
  });

  const image = observation.image;
  if (!image || image.kind === 'missing') {
    if (spec.image !== localRepository) {
      return {
        actions: [{ type: 'pull', ref, reason: `${ref} is not on this host` }],
        outcome: { phase: 'Deploying', message: `pulling ${ref}` },
      };
    }
    const serving = anyRunning ? '; the running revision keeps serving' : '';
    return {
      actions: routeToServing(observation, app),
      outcome: { phase: 'Pending', message: `waiting for image ${ref} (docker load, docker tag or a pull)${serving}` },
    };
  }
  if (spec.digest !== undefined && !digestMatches(image, spec.digest)) {
    const found = [image.id, ...image.repoDigests].join(', ');
    return refused(`digest mismatch: the manifest pins ${spec.digest} but ${ref} is ${found}`);
  }

  const actions: Action[] = [];
  if (spec.image !== localRepository && observation.localTagImageId !== image.id) {
    actions.push({
      type: 'tag',
      source: image.id,
      repository: localRepository,
      tag: spec.tag,
      reason: `mirror ${ref} as ${imageRef(localRepository, spec.tag)}`,
    });
  }

  const revision: Revision = { specHash: specHash(spec), imageId: image.id };
  const key = revisionKey(revision);
  const verified = observation.serving?.revision === key;
  const isCurrent = (c: ContainerSummary) => c.specHash === revision.specHash && c.imageId === revision.imageId;
  const old = containers.filter((c) => !isCurrent(c));
  if (!verified && observation.held?.revision === key)
    return planHeld(observation, app, actions, observation.held.reason);
  const watch = verified ? watchAfterSwitch(observation, app, containers.filter(isCurrent)) : undefined;
  if (watch?.rollback)
    return {
      actions: [...actions, watch.rollback],
      outcome: { phase: 'Degraded', message: `rolled back: ${watch.rollback.reason}` },
    };
  const { kept, discarded } = sortCurrent(containers.filter(isCurrent), spec.replicas, verified);

  for (const c of discarded.filter((c) => !isRunning(c)))
    actions.push({ type: 'remove', container: refOf(c), reason: `container ${c.name} is ${c.state}` });
  const surplus = discarded.filter(isRunning);
  if (surplus.length > 0)
    actions.push({
      type: 'retire',
      containers: surplus.map(refOf),
      reason: spec.replicas === 0 ? 'scaled to 0 replicas' : `more than ${spec.replicas} replica(s)`,
    });

  const missingSlots = range(spec.replicas).filter((slot) => !kept.has(slot));
  const underWay = observation.canary;
  if (!verified && underWay?.revision === key && observation.serving?.revision === underWay.stableRevision) {
    const split = canaryRoute(app, underWay, containers);
    return planCanaryUnderWay(observation, {
      app,
      revision: key,
      canary: underWay,
      kept: [...kept.values()],
      missingSlots: missingSlots.length,
      actions,
      routeRepair: observation.route.current
        ? []
        : [{ type: 'route', ...split, reason: 'the proxy does not hold the canary split' }],
      repository: localRepository,
      promote: () =>
        finishRollout(observation, app, {
          key,
          imageId: image.id,
          verified: false,
          strategy: 'zero-downtime',
          old,
          firstNew: [...kept.values()][0]?.name,
          note: '',
        }),
    });
  }
  const unverified = verified ? [] : [...kept.values()];
  const runningMessage = `${spec.replicas} × ${ref} running`;

  if (missingSlots.length === 0 && unverified.length === 0) {
    if (verified && spec.replicas > 0 && observation.latestImageId !== image.id) {
      // Interrupted between the switch and the retag (berth killed): finish the retag now.
      const previous = previousImageId(old.filter(isRunning), observation);
      actions.push({
        type: 'retag',
        repository: localRepository,
        latest: image.id,
        ...(previous ? { previous } : {}),
        reason: 'latest does not point at the serving image',
      });
    }
    actions.push(...routeToServing(observation, app));
    if (watch?.probe) actions.push(watch.probe);
    const retirement = planRetirement(observation, app, old, actions, verified);
    const restarting = restartsOf(observation);
    const crashLoop = verified ? crashLoopOf(observation, [...kept.values()]) : undefined;
    const requeueAfterMs = Math.min(
      ...[retirement.requeueAfterMs, watch?.requeueAfterMs, restarting?.requeueAfterMs].filter(
        (ms): ms is number => ms !== undefined,
      ),
    );
    return {
      actions: retirement.actions,
      outcome: crashLoop
        ? { phase: 'Failed', message: crashLoop }
        : restarting
          ? { phase: 'Degraded', message: restarting.message }
          : {
              phase: 'Running',
              message:
                (spec.replicas === 0 ? 'scaled to 0 replicas' : runningMessage) +
                (watch
                  ? ` (watching the new revision until ${new Date(watch.endsAt).toISOString().slice(11, 19)} UTC)`
                  : ''),
            },
      ...(crashLoop ? { crashLoop: { revision: key, message: crashLoop } } : {}),
      ...(Number.isFinite(requeueAfterMs) ? { requeueAfterMs } : {}),
    };
  }

  const strategy = effectiveStrategy(app, observation.proxy);
  if ('refused' in strategy) return refused(strategy.refused);

  const runningOld = old.filter(isRunning);
  if (!verified && spec.release && !observation.released.includes(key)) {
    actions.push({
      type: 'release',
      revision: key,
      imageId: image.id,
      hook: spec.release,
      spec: releaseContainerSpec(namespace, app, key, image.id, spec.release),
      reason: 'the release step runs once per revision, before any new container serves',
    });
  }
  if (strategy.name === 'recreate') {
    for (const c of runningOld)
      actions.push({
        type: 'stop',
        container: refOf(c),
        reason: 'recreate: the old container stops before the new one starts',
      });
  }
  const created = missingSlots.map((slot) => containerSpecFor(namespace, app, revision, slot));
  for (const create of created)
    actions.push({ type: 'create', spec: create, reason: verified ? 'replace a missing replica' : `roll out ${ref}` });
  actions.push({
    type: 'check',
    containers: [...unverified.map((c) => c.name), ...created.map((c) => c.name)],
    reason: verified ? 'pre-flight checks of the replacement' : 'pre-flight checks before traffic moves',
  });
  const canary = verified ? {} : canaryFor(observation, app, strategy.name);
  if ('spec' in canary) {
    // deploy.canary: the first step instead of the switch; the rest follows as nginx's numbers are judged.
    const first = firstCanaryStep(key, canary.stableRevision, canary.spec);
    return {
      actions: [...actions, first.action],
      outcome: { phase: 'Deploying', message: `canary at ${first.note.percent}% of requests` },
      canary: first.note,
      requeueAfterMs: CANARY_LOOK_MS,
      rollout: { revision: key, imageId: image.id, image: spec.image, tag: spec.tag, strategy: strategy.name },
    };
  }
  const finished = finishRollout(observation, app, {
    key,
    imageId: image.id,
    verified,
    strategy: strategy.name,
    old,
    firstNew: created[0]?.name ?? unverified[0]?.name,
    note: (strategy.note ?? '') + (canary.note ?? ''),
  });
  return { ...finished, actions: [...actions, ...finished.actions] };
}

/**
 * The end of a rollout once the new containers passed their checks (or the canary's last step):
 * traffic switched (the previous revision behind it as the backup while deploy.monitor
 * watches), `latest`/`previous` retagged, the post-deploy command, the old containers retired
 * now or scheduled, released tags untagged. With `verified` (a replica replaced): the switch and
 * the retirement only.
 */
function finishRollout(
  observation: Observation,
  app: App,
  r: {
    key: string;
    imageId: string;
    verified: boolean;
    strategy: 'zero-downtime' | 'recreate';
    old: ContainerSummary[];
    firstNew: string | undefined;
    note: string;
  },
): Plan {
  const { spec } = app;
  const { key, verified, old } = r;
  const actions: Action[] = [];
  const runningOld = old.filter(isRunning);
  const localRepository = appRepository(observation.namespace, app.name);
  // While deploy.monitor watches the new revision, the one serving now stays behind it as the proxy's backup.
  const backupRevision =
    !verified && spec.deploy.monitor > 0 && r.strategy !== 'recreate' && observation.serving !== undefined
      ? observation.serving.revision
      : undefined;
  actions.push({
    type: 'switch',
    revision: key,
    ...(backupRevision !== undefined && backupRevision !== key ? { backupRevision } : {}),
    reason:
      backupRevision !== undefined && backupRevision !== key
        ? 'checks passed; the previous revision stays behind it as the backup while deploy.monitor watches'
        : 'checks passed',
  });
  if (!verified) {
    const previous = previousImageId(runningOld, observation);
    actions.push({
      type: 'retag',
      repository: localRepository,
      latest: r.imageId,
      ...(previous ? { previous } : {}),
      reason: 'point latest at the deployed image',
    });
    if (spec.postDeploy && r.firstNew !== undefined)
      actions.push({
        type: 'postDeploy',
        container: r.firstNew,
        hook: spec.postDeploy,
        reason: 'runs once after traffic switched',
      });
  }

  const retireNow = r.strategy === 'recreate' || keepOldMs(app) === 0;
  const retiring = retireNow ? old : old.filter((c) => !isRunning(c));
  if (retiring.length > 0)
    actions.push({ type: 'retire', containers: retiring.map(refOf), reason: retireNow ? 'replaced' : 'not running' });
  const waiting = old.length - retiring.length;
  if (!verified) actions.push(...untagReleased(observation, app, key));

  return {
    actions,
    outcome: { phase: 'Running', message: `${spec.replicas} × ${imageRef(spec.image, spec.tag)} running${r.note}` },
    ...(waiting > 0 ? { requeueAfterMs: keepOldMs(app) } : {}),
    ...(verified
      ? {}
      : { rollout: { revision: key, imageId: r.imageId, image: spec.image, tag: spec.tag, strategy: r.strategy } }),
  };
}

/** How long old containers outlive a switch: `retireAfter`, or the monitor window when that is longer. */
function keepOldMs(app: App): number {
  return Math.max(app.spec.deploy.retireAfter, app.spec.deploy.monitor) * 1000;
}

/**
 * A revision that was rolled back (or whose release failed): nothing rolls it out again by itself.
 * What serves keeps serving; the old containers are not retired.
 */
function planHeld(observation: Observation, app: App, actions: Action[], reason: string): Plan {
  const anyRunning = observation.containers.some(isRunning);
  const ref = imageRef(app.spec.image, app.spec.tag);
  const serving = anyRunning ? 'the previous revision keeps serving' : 'nothing serves';
  return {
    actions: [...actions, ...routeToServing(observation, app)],
    outcome: {
      phase: anyRunning ? 'Degraded' : 'Failed',
      message:
        `${ref} is held after it failed (${reason}); ${serving} ` +
        `until the manifest changes or \`berth retry ${app.name}\``,
    },
  };
}

/** How long a container's restarts keep an app Degraded after its last start. */
export const RESTART_MEMORY_MS = 5 * 60_000;

/** A serving container that restarted lately (the engine's restart policy at work): the app is Degraded, with why. */
function restartsOf(observation: Observation): { message: string; requeueAfterMs: number } | undefined {
  const restarted = (observation.servingDetails ?? []).filter(
    (d) => d.restartCount > 0 && observation.now - d.startedAt < RESTART_MEMORY_MS,
  );
  if (restarted.length === 0) return undefined;
  const latest = Math.max(...restarted.map((d) => d.startedAt));
  const words = restarted.map(
    (d) =>
      `${d.name} restarted ${d.restartCount} time${d.restartCount === 1 ? '' : 's'}` +
      (d.exitCode !== 0 ? ` (last exit code ${d.exitCode})` : ''),
  );
  return {
    message: `${words.join('; ')}: the engine restarts it; see its logs`,
    requeueAfterMs: Math.max(1_000, latest + RESTART_MEMORY_MS - observation.now),
  };
}

/**
 * The serving revision crash-loops: none of its containers runs, the engine restarting each. They
 * are left to the engine's restart policy (its own backoff), never removed to be recreated: a
 * fresh container of the same revision would crash the same way, and nothing else serves. Said
 * as `restarting: exit code 3, 5 restarts in 1 min`. Undefined while any of them runs.
 */
function crashLoopOf(observation: Observation, serving: ContainerSummary[]): string | undefined {
  if (serving.length === 0 || serving.some(isRunning)) return undefined;
  const details = (observation.servingDetails ?? []).filter((d) => serving.some((c) => c.id === d.id));
  const restarts = details.reduce((sum, d) => sum + d.restartCount, 0);
  const exitCodes = [...new Set(details.map((d) => d.exitCode))];
  const since = Math.min(...serving.map((c) => c.createdAt));
  const minutes = Math.max(1, Math.round((observation.now - since) / 60_000));
  const exit = exitCodes.length === 0 ? 'exited' : `exit code ${exitCodes.join(', ')}`;
  return (
    `restarting: ${exit}, ${restarts} restart${restarts === 1 ? '' : 's'} in ${minutes} min; ` +
    'nothing serves (the engine restarts it with backoff; see its logs)'
  );
}

/** What watching the serving revision within deploy.monitor asks for now. */
interface Watch {
  endsAt: number;
  requeueAfterMs: number;
  rollback?: Extract<Action, { type: 'rollback' }>;
  probe?: Extract<Action, { type: 'probe' }>;
}

/** How often the new containers are looked at within the window (besides the engine's events). */
const WATCH_INTERVAL_MS = 1_000;

/**
 * Within deploy.monitor after a switch, while the previous revision still runs: a new container
 * that stopped, restarted or turned unhealthy sends traffic back now; otherwise its checks are
 * probed once more, and the app is looked at again shortly.
 */
function watchAfterSwitch(observation: Observation, app: App, current: ContainerSummary[]): Watch | undefined {
  const { serving, previousRevision, servingDetails, now } = observation;
  if (
    !serving ||
    previousRevision === undefined ||
    previousRevision === serving.revision ||
    servingDetails === undefined
  )
    return undefined;
  const endsAt = serving.switchedAt + app.spec.deploy.monitor * 1000;
  const previous = observation.containers.filter((c) => isRunning(c) && revisionKey(c) === previousRevision);
  if (now >= endsAt || previous.length === 0) return undefined;
  const repository = appRepository(observation.namespace, app.name);
  const target: RollbackTarget = {
    to: previousRevision,
    from: serving.revision,
    containers: current.map(refOf),
    repository,
    latest: parseRevisionKey(previousRevision).imageId,
    ...previousOf(observation, previousRevision, serving.revision),
  };
  const failure = watchFailure(servingDetails, app.spec.replicas);
  if (failure !== undefined)
    return {
      endsAt,
      requeueAfterMs: 0,
      rollback: {
        type: 'rollback',
        ...target,
        reason: `${failure} within deploy.monitor (${app.spec.deploy.monitor}s) after the switch`,
      },
    };
  const { http, exec } = app.spec.checks;
  const probe =
    http.length + exec.length > 0
      ? {
          type: 'probe' as const,
          containers: servingDetails.map((d) => d.name),
          rollback: target,
          reason: 'watching the new revision within deploy.monitor',
        }
      : undefined;
  // The engine's events report a container that stops, restarts or turns unhealthy; only checks need looking.
  return {
    endsAt,
    requeueAfterMs: probe ? Math.min(WATCH_INTERVAL_MS, endsAt - now) : endsAt - now,
    ...(probe ? { probe } : {}),
  };
}

/** Why the watched containers fail, if they do: stopped, restarted, unhealthy, or fewer than the replicas. */
function watchFailure(details: ContainerDetail[], replicas: number): string | undefined {
  for (const d of details) {
    if (d.state !== 'running') return `${d.name} stopped (${d.state}, exit code ${d.exitCode})`;
    if (d.restartCount > 0)
      return `${d.name} exited and was restarted by the engine${d.exitCode !== 0 ? ` (exit code ${d.exitCode})` : ''}`;
    if (d.health === 'unhealthy') return `${d.name} turned unhealthy`;
  }
  return details.length < replicas
    ? `${replicas - details.length} of ${replicas} new container(s) went away`
    : undefined;
}

/** The image `previous` should point at once `to` serves again: the deploy before it in the history. */
function previousOf(observation: Observation, to: string, from: string): { previous?: string } {
  const earlier = observation.retention.history.find(
    (h) => h.outcome === 'succeeded' && h.revision !== to && h.revision !== from,
  );
  return earlier ? { previous: earlier.imageId } : {};
}

/** A route to the serving revision's containers (with its backups while watched), when the proxy does not hold exactly that. */
function routeToServing(observation: Observation, app: App): Action[] {
  const { serving, route } = observation;
  // A canary berth's record still names (the manifest moved on): the proxy holds its split, observed as current.
  const abandoned = observation.canary !== undefined;
  if (serving === undefined || (route.current && !abandoned)) return [];
  const { endpoints, backups } = routeTargets(
    app,
    serving,
    observation.previousRevision,
    observation.containers,
    observation.now,
  );
  const watchEnded =
    route.held &&
    backups.length === 0 &&
    observation.previousRevision !== undefined &&
    observation.now >= serving.switchedAt + app.spec.deploy.monitor * 1000;
  return [
    {
      type: 'route',
      endpoints,
      ...(backups.length > 0 ? { backups } : {}),
      reason: !route.held
        ? 'the proxy has no route for the app'
        : abandoned
          ? 'the canary is abandoned: all traffic to the serving revision'
          : watchEnded
            ? 'the proxy does not route to what serves (after deploy.monitor, the previous revision leaves the route)'
            : 'the proxy does not route to what serves',
    },
  ];
}

/** Once `revision` is deployed: the tags berth created that fall outside the revisions it keeps. */
function untagReleased(observation: Observation, app: App, revision: string): Action[] {
  const { history, owned, keep } = observation.retention;
  const { image, tag } = app.spec;
  const refs = releasableTags({
    history: [{ revision, image, tag, outcome: 'succeeded' }, ...history],
    owned,
    keep,
    localRepository: appRepository(observation.namespace, app.name),
    desired: { image, tag },
  });
  return refs.length === 0 ? [] : [{ type: 'untag', refs, reason: `older than the last ${keep} deployed revisions` }];
}

/**
 * Old containers once the desired revision serves: stopped ones go now, running ones `retireAfter`
 * after the switch.
 */
function planRetirement(
  observation: Observation,
  app: App,
  old: ContainerSummary[],
  actions: Action[],
  verified: boolean,
): Omit<Plan, 'outcome'> {
  if (old.length === 0) return { actions };
  const retireAfterMs = keepOldMs(app);
  const switchedAt = verified ? (observation.serving?.switchedAt ?? 0) : 0;
  const dueAt = switchedAt + retireAfterMs;
  const scaledToZero = app.spec.replicas === 0;
  // A switch recorded in the future means the clock jumped backwards: retire now rather than wait for the clock
  // to catch up.
  const clockWentBack = switchedAt > observation.now;
  const due = scaledToZero || clockWentBack || dueAt <= observation.now;
  const retiring = due ? old : old.filter((c) => !isRunning(c));
  if (retiring.length > 0) {
    actions.push({
      type: 'retire',
      containers: retiring.map(refOf),
      reason: scaledToZero ? 'scaled to 0 replicas' : due ? 'the retire delay has passed' : 'not running',
    });
  }
  return retiring.length === old.length ? { actions } : { actions, requeueAfterMs: dueAt - observation.now };
}

/**
 * One running container per replica slot below `replicas`; everything else is discarded. Newest
 * wins a slot. A container of the serving revision that the engine is restarting keeps its slot:
 * its restart policy brings it back (with its own backoff), and removing it would leave nothing.
 */
function sortCurrent(
  current: ContainerSummary[],
  replicas: number,
  serving: boolean,
): { kept: Map<number, ContainerSummary>; discarded: ContainerSummary[] } {
  const kept = new Map<number, ContainerSummary>();
  const discarded: ContainerSummary[] = [];
  const holds = (c: ContainerSummary) => isRunning(c) || (serving && c.state === 'restarting');
  for (const c of [...current].sort((a, b) => b.createdAt - a.createdAt)) {
    if (holds(c) && c.replica >= 0 && c.replica < replicas && !kept.has(c.replica)) kept.set(c.replica, c);
    else discarded.push(c);
  }
  return { kept, discarded };
}

function previousImageId(runningOld: ContainerSummary[], observation: Observation): string | undefined {
  const servingImage = observation.serving ? parseRevisionKey(observation.serving.revision).imageId : undefined;
  const fromServing = runningOld.find((c) => c.imageId === servingImage);
  return (fromServing ?? runningOld[0])?.imageId;
}

function isRunning(c: ContainerSummary): boolean {
  return c.state === 'running';
}

function refOf(c: ContainerSummary): ContainerRef {
  return { id: c.id, name: c.name };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
