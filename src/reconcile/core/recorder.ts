/**
 * The one writer of an app's record: phase, message, last error, serving revision, deploy
 * history, owned image tags, and the deploy metrics. A reconcile records when it ends, the way
 * Kubernetes controllers write status once; two moments of a rollout are recorded as they
 * happen, because people and a restarted berth need them: that it began (the app shows
 * Deploying) and that traffic switched (a berth killed after the switch knows what serves).
 */
import { imageRef } from '../../manifest/image-ref.js';
import { noMetrics, type ControllerMetrics } from '../../metrics/types.js';
import type { StateStore } from '../../state/store.js';
import type { Phase } from '../../state/types.js';
import type { Clock } from '../../util/clock.js';
import type { Desired } from './desired.js';
import type { Executed, Rollout, RoundPlan } from './outcome.js';
import { describeCommit, type Commit, type ManifestOrigin } from '../../source/types.js';
import type { EventSink, NewEvent } from '../../events/types.js';
import { parseRevisionKey } from './revision.js';

export interface RecorderDeps {
  state: StateStore;
  clock: Clock;
  metrics?: ControllerMetrics;
  /** Where what happened is said (timeline, notifications). */
  events?: EventSink;
}

/** How a reconcile round ended. */
export type RoundEnd =
  /** The plan had nothing to do now (or refused to act): its outcome is the app's state. */
  | { kind: 'settled' }
  /** Every action of the plan succeeded. */
  | { kind: 'applied'; executed: Executed; durationMs: number; urls?: string[]; repaired?: string }
  /** An action failed; `executed` is what was done before it. */
  | { kind: 'failed'; executed: Executed; phase: Phase; message: string; durationMs: number; output?: string };

/** What the recorder reads of an observation and a plan: any engine's reconciler can give it that. */
export interface RecordedObservation {
  name: string;
  desired: Desired;
}
export type RecordedPlan = RoundPlan;

/** Revisions whose release success is remembered. */
const RELEASED_KEPT = 20;

export class Recorder {
  constructor(private readonly deps: RecorderDeps) {}

  /** A rollout begins. */
  deploying(observation: RecordedObservation, rollout: Rollout): void {
    const ref = imageRef(rollout.image, rollout.tag);
    this.writePhase(observation, 'Deploying', `deploying ${ref}`);
    this.emit({
      type: 'deploy.started',
      app: observation.name,
      message: `deploying ${ref}${fromCommit(observation)}`,
      details: {
        image: rollout.image,
        tag: rollout.tag,
        revision: rollout.revision,
        strategy: rollout.strategy,
        ...commitFields(observation),
      },
    });
  }

  /** Traffic moved to `revision`, the plan's rollout. */
  switched(name: string, plan: RecordedPlan, revision: string): void {
    const { state, clock } = this.deps;
    const before = state.get(name)?.servingRevision;
    if (before === revision || !plan.rollout) return;
    state.update(
      name,
      {
        servingRevision: revision,
        servingImageId: plan.rollout.imageId,
        servingTag: plan.rollout.tag,
        switchedAt: clock.now(),
        ...(before !== undefined ? { previousRevision: before } : {}),
      },
      clock.now(),
    );
    state.clear(name, ['held', 'canary', ...(before === undefined ? (['previousRevision'] as const) : [])]);
  }

  /**
   * A canary step's split is routed: recorded at once (a berth killed now finds the step and
   * judges it). The first step starts the canary's clock (progressDeadline counts from it).
   */
  canaryStep(name: string, step: { revision: string; stableRevision: string; step: number; percent: number }): void {
    const { state, clock } = this.deps;
    const now = clock.now();
    const before = state.get(name)?.canary;
    const startedAt = before?.revision === step.revision && step.step > 0 ? before.startedAt : now;
    state.update(
      name,
      {
        canary: {
          revision: step.revision,
          stableRevision: step.stableRevision,
          step: step.step,
          percent: step.percent,
          startedAt,
          stepStartedAt: now,
        },
      },
      now,
    );
  }

  /** The release step of `revision` succeeded: it is not run again. */
  released(name: string, revision: string): void {
    const { state, clock } = this.deps;
    const released = [revision, ...(state.get(name)?.released ?? []).filter((r) => r !== revision)].slice(
      0,
      RELEASED_KEPT,
    );
    state.update(name, { released }, clock.now());
  }

  /** Traffic went back from `from` to `to`: `to` serves again, and `from` is held. */
  rolledBack(name: string, from: string, to: string, reason: string): void {
    const { state, clock } = this.deps;
    const restored = state.get(name)?.history.find((h) => h.revision === to && h.outcome === 'succeeded');
    state.update(
      name,
      {
        servingRevision: to,
        servingImageId: parseRevisionKey(to).imageId,
        ...(restored ? { servingTag: restored.tag } : {}),
        switchedAt: clock.now(),
        previousRevision: to,
        held: { revision: from, reason, at: clock.now() },
      },
      clock.now(),
    );
  }

  /**
   * A revision that failed its release step (or that Swarm rolled back) is held: not tried again
   * until the manifest changes or `berth retry`. `serviceHash`: on Swarm, the spec that failed.
   */
  hold(name: string, revision: string, reason: string, serviceHash?: string): void {
    const { state, clock } = this.deps;
    state.update(
      name,
      { held: { revision, reason, at: clock.now(), ...(serviceHash !== undefined ? { serviceHash } : {}) } },
      clock.now(),
    );
  }

  /** `berth retry`: the held revision may be tried once more. */
  release(name: string): void {
    this.deps.state.clear(name, ['held']);
    this.deps.events?.retried?.(name);
  }

  /** The end of a round: everything it changed about the app, in one place. */
  ended(observation: RecordedObservation, plan: RecordedPlan, end: RoundEnd): void {
    const { state, clock } = this.deps;
    const metrics = this.deps.metrics ?? noMetrics;
    const { name } = observation;
    if (end.kind !== 'failed' && plan.gone) {
      if (state.get(name) !== undefined)
        this.emit({ type: 'app.removed', app: name, message: 'removed: its manifest is gone', details: {} });
      state.delete(name);
      return;
    }
    if (end.kind !== 'settled') this.ownedTags(name, end.executed);
    // Every action succeeded: the app is where the plan said it would be (a rollback, below, says otherwise).
    if (end.kind === 'applied' && !end.executed.rolledBack)
      this.writePhase(observation, plan.outcome.phase, plan.outcome.message);
    const { rollout } = plan;
    if (end.kind === 'settled') {
      const said = state.get(name)?.crashLoop;
      this.writePhase(observation, plan.outcome.phase, plan.outcome.message, plan.refused ?? plan.crashLoop?.message);
      // Said once per episode: not again at each restart (the app is Degraded while a restart runs), only after it ran calmly.
      if (plan.crashLoop && said !== plan.crashLoop.revision) {
        state.update(name, { crashLoop: plan.crashLoop.revision }, clock.now());
        this.emit({
          type: 'app.crash_looping',
          app: name,
          message: plan.crashLoop.message,
          details: { revision: plan.crashLoop.revision, reason: plan.crashLoop.message },
        });
      } else if (!plan.crashLoop && said !== undefined && plan.outcome.phase === 'Running') {
        state.clear(name, ['crashLoop']);
      }
    } else if (end.kind === 'failed') {
      this.writePhase(observation, end.phase, end.message, end.message);
      if (rollout) {
        state.appendHistory(name, {
          at: clock.now(),
          tag: rollout.tag,
          image: rollout.image,
          imageId: rollout.imageId,
          revision: rollout.revision,
          outcome: 'failed',
          reason: end.message,
          durationMs: end.durationMs,
          ...(end.output ? { output: end.output } : {}),
          ...commitFields(observation),
        });
        metrics.deployed(name, 'failed');
        this.emit({
          type: 'deploy.failed',
          app: name,
          message: `${imageRef(rollout.image, rollout.tag)}: ${end.message}`,
          details: {
            image: rollout.image,
            tag: rollout.tag,
            revision: rollout.revision,
            reason: end.message,
            durationMs: end.durationMs,
            ...(end.output ? { output: end.output } : {}),
            ...commitFields(observation),
          },
        });
      }
    } else if (end.executed.rolledBack) {
      const { from, reason } = end.executed.rolledBack;
      // A canary never succeeded, so its history entry is made from the manifest that rolled it out.
      const failed =
        state.get(name)?.history.find((h) => h.revision === from) ??
        (plan.canary?.kind === 'abort' && observation.desired.kind === 'present'
          ? {
              at: state.get(name)?.canary?.startedAt ?? clock.now(),
              tag: observation.desired.app.spec.tag,
              image: observation.desired.app.spec.image,
              imageId: parseRevisionKey(from).imageId,
              revision: from,
              outcome: 'failed' as const,
              durationMs: 0,
              ...commitFields(observation),
            }
          : undefined);
      this.writePhase(observation, 'Degraded', `rolled back: ${reason}`, `rolled back: ${reason}`);
      if (failed)
        state.appendHistory(name, {
          ...failed,
          at: clock.now(),
          outcome: 'rolled_back',
          reason,
          durationMs: clock.now() - failed.at,
        });
      metrics.deployed(name, 'rolled_back');
      this.emit({
        type: 'deploy.rolled_back',
        app: name,
        message: `${failed ? `${imageRef(failed.image, failed.tag)} ` : ''}rolled back: ${reason}`,
        details: {
          revision: from,
          to: end.executed.rolledBack.to,
          reason,
          ...(failed ? { image: failed.image, tag: failed.tag } : {}),
        },
      });
      if (plan.canary?.kind === 'abort') this.canaryEvent(name, 'canary.aborted', plan.canary);
    } else if (plan.canary?.kind === 'step') {
      // A step of a canary: the rollout is under way, neither succeeded nor failed.
      this.canaryEvent(name, 'canary.step', plan.canary);
    } else if (rollout) {
      state.appendHistory(name, {
        at: clock.now(),
        tag: rollout.tag,
        image: rollout.image,
        imageId: rollout.imageId,
        revision: rollout.revision,
        outcome: 'succeeded',
        durationMs: end.durationMs,
        ...(end.executed.postDeploy ? { postDeploy: end.executed.postDeploy } : {}),
        ...commitFields(observation),
      });
      state.clear(name, ['lastError']);
      metrics.deployed(name, 'succeeded');
      const commit = originOf(observation)?.commit;
      const urls = end.urls ?? [];
      this.emit({
        type: 'deploy.succeeded',
        app: name,
        message: `${imageRef(rollout.image, rollout.tag)} deployed in ${(end.durationMs / 1000).toFixed(1)} s${fromCommit(observation)}${urls.length > 0 ? ` at ${urls.join(' ')}` : ''}`,
        details: {
          image: rollout.image,
          tag: rollout.tag,
          imageId: rollout.imageId,
          revision: rollout.revision,
          durationMs: end.durationMs,
          urls,
          ...commitFields(observation),
        },
      });
      if (plan.canary?.kind === 'promote') this.canaryEvent(name, 'canary.promoted', plan.canary);
      if (end.executed.postDeploy?.startsWith('failed'))
        this.postDeployFailed(observation, rollout, end.executed, commit);
    } else if (end.repaired !== undefined) {
      this.emit({
        type: 'drift.repaired',
        app: name,
        message: `repaired: ${end.repaired}`,
        details: { repaired: end.repaired },
      });
    }
    this.canaryJudged(name, plan, end);
  }

  /**
   * The record's canary after a round: its last judgement kept for status while it runs; cleared
   * once promoted or rolled back, or when the plan no longer has one (the manifest moved on, or
   * the app is back on one revision).
   */
  private canaryJudged(name: string, plan: RecordedPlan, end: RoundEnd): void {
    const { state, clock } = this.deps;
    const recorded = state.get(name)?.canary;
    if (recorded === undefined) return;
    // Ended: promoted or rolled back (a failed round of either leaves the record, to be tried again).
    const ended = end.kind === 'applied' && (plan.canary?.kind === 'promote' || plan.canary?.kind === 'abort');
    if (plan.canary === undefined || ended) {
      state.clear(name, ['canary']);
      return;
    }
    if (plan.canary.revision !== recorded.revision || plan.canary.kind !== 'wait') return;
    state.update(
      name,
      {
        canary: {
          ...recorded,
          reason: plan.canary.reason,
          ...(plan.canary.numbers ? { numbers: plan.canary.numbers } : {}),
        },
      },
      clock.now(),
    );
  }

  /** `canary.step`, `canary.promoted` or `canary.aborted`, with the step, its percent and the numbers judged. */
  private canaryEvent(
    name: string,
    type: 'canary.step' | 'canary.promoted' | 'canary.aborted',
    note: NonNullable<RecordedPlan['canary']>,
  ): void {
    const numbers = note.numbers ? { ...note.numbers } : undefined;
    const said =
      type === 'canary.step'
        ? `canary step ${note.step + 1}: ${note.percent}% of requests to the new revision`
        : type === 'canary.promoted'
          ? `canary promoted: ${note.reason}`
          : `canary aborted: ${note.reason}`;
    this.emit({
      type,
      app: name,
      message: said,
      details: {
        revision: note.revision,
        step: note.step + 1,
        percent: note.percent,
        reason: note.reason,
        ...(numbers ? { numbers } : {}),
      },
    });
  }

  private emit(event: NewEvent): void {
    this.deps.events?.emit(event);
  }

  /** The deploy stands, its post-deploy command failed: said beside the success, for a person to act on. */
  private postDeployFailed(
    observation: RecordedObservation,
    rollout: Rollout,
    executed: Executed,
    commit: Commit | undefined,
  ): void {
    const reason = (executed.postDeploy ?? '').replace(/^failed: /, '');
    const command =
      observation.desired.kind === 'present' ? observation.desired.app.spec.postDeploy?.command : undefined;
    const { exitCode, output } = executed.postDeployFailure ?? {};
    this.emit({
      type: 'postdeploy.failed',
      app: observation.name,
      message: `${imageRef(rollout.image, rollout.tag)}: the post-deploy command ${reason}; the deploy stands`,
      details: {
        image: rollout.image,
        tag: rollout.tag,
        revision: rollout.revision,
        ...(command ? { command } : {}),
        reason,
        ...(exitCode !== undefined ? { exitCode } : {}),
        ...(output ? { output } : {}),
        ...(commit ? { commit } : {}),
      },
    });
  }

  private ownedTags(name: string, executed: Executed): void {
    const { state, clock } = this.deps;
    if (executed.tagged.length === 0 && executed.untagged.length === 0) return;
    const before = state.get(name)?.ownedTags ?? [];
    const owned = [...new Set([...before, ...executed.tagged])].filter((ref) => !executed.untagged.includes(ref));
    if (owned.length !== before.length || owned.some((ref, i) => ref !== before[i]))
      state.update(name, { ownedTags: owned }, clock.now());
  }

  /** The phase and message people see; an app whose manifest is invalid shows Invalid with the problem. */
  private writePhase(observation: RecordedObservation, phase: Phase, message: string, lastError?: string): void {
    const { desired, name } = observation;
    const spec = desired.kind === 'present' ? desired.app.spec : undefined;
    const invalid = desired.kind === 'present' ? desired.invalid : undefined;
    this.deps.state.update(
      name,
      {
        phase: invalid !== undefined ? 'Invalid' : phase,
        message: invalid ?? message,
        ...(spec ? { desiredTag: spec.tag, desiredImage: spec.image } : {}),
        ...(lastError !== undefined ? { lastError } : {}),
      },
      this.deps.clock.now(),
    );
  }
}

/**
 * Where the app's manifest came from when this round planned (the tree its desired state was read
 * from), with a git source; never the branch's head now, which may have moved since.
 */
export function originOf(observation: RecordedObservation): ManifestOrigin | undefined {
  return observation.desired.kind === 'present' ? observation.desired.app.origin : undefined;
}

/** ` from 3f2a1c9 'bump web'`, and who last changed the app's file when another commit: how events and logs name the source of a deploy. */
export function fromCommit(observation: RecordedObservation): string {
  const origin = originOf(observation);
  if (!origin) return '';
  const changed =
    origin.changedBy && origin.changedBy.sha !== origin.commit.sha
      ? ` (its manifest last changed by ${describeCommit(origin.changedBy)})`
      : '';
  return ` from ${describeCommit(origin.commit)}${changed}`;
}

/** `commit` and `changedBy`, as history and event details carry them. */
function commitFields(observation: RecordedObservation): { commit?: Commit; changedBy?: Commit } {
  const origin = originOf(observation);
  return origin ? { commit: origin.commit, ...(origin.changedBy ? { changedBy: origin.changedBy } : {}) } : {};
}
