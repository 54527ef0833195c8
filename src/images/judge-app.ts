/**
 * One app's image policy judged on one look at its repository (pure): whether a person moved the
 * tag back since the last look (then only a tag newer than every tag seen by then is adopted), and
 * which tag, if any, berth writes now.
 *
 * A person's move is told from berth's own by the manifest alone: berth records the manifest's tag
 * at each look, never the tag it wrote, so a write that has not reached the manifest yet (a push
 * to a branch for review, a git source that has not fetched) is not mistaken for a rollback.
 */
import type { ImagePolicy } from '../manifest/types.js';
import type { DeployRecord, ImagePolicyRecord } from '../state/types.js';
import { compareTags, decide, describePolicy, matchesPolicy, matchingTags, type PolicyDecision } from './policy.js';

export interface AppLook {
  policy: ImagePolicy;
  /** The manifest's tag now. */
  tag: string;
  /** What the last look recorded (undefined: the first look). */
  previous?: ImagePolicyRecord;
  /** Every tag of the repository (registry and engine). */
  candidates: readonly string[];
  /** When berth first saw each tag. */
  firstSeen: Readonly<Record<string, number>>;
  /** The app's deploy history, newest first: tags berth rolled back itself are never adopted. */
  history: readonly DeployRecord[];
  now: number;
}

export interface AppJudgement {
  /** What to record for the app (`written` and `error` are the caller's to add). */
  record: ImagePolicyRecord;
  decision: PolicyDecision;
  /** Set when this look found a person's move of the tag back: the tag it came from. */
  rolledBackFrom?: string;
}

/** The look's verdict for one app. */
export function judgeApp(look: AppLook): AppJudgement {
  const { policy, tag, previous, candidates, firstSeen, now } = look;
  const sorts = (candidate: string) => matchesPolicy(policy, candidate);
  let floor = previous?.floor;
  let rolledBackFrom: string | undefined;
  const before = previous?.tag;
  if (before !== undefined && before !== tag && sorts(before) && sorts(tag) && compareTags(policy, tag, before) < 0) {
    // A person moved the tag back: nothing seen up to now is adopted again.
    rolledBackFrom = before;
    floor = newestOf(policy, [
      before,
      ...(floor !== undefined ? [floor] : []),
      ...matchingTags(policy, Object.keys(firstSeen)),
    ]);
  }
  // Once the manifest is at or past the floor (a person moved it forward again), the floor has done its work.
  if (floor !== undefined && (!sorts(floor) || (sorts(tag) && compareTags(policy, tag, floor) >= 0))) floor = undefined;

  const decision = decide({
    policy,
    currentTag: tag,
    candidates,
    firstSeen,
    now,
    ...(floor !== undefined ? { floor } : {}),
    refused: rolledBackByBerth(look.history),
  });
  const record: ImagePolicyRecord = {
    policy: describePolicy(policy),
    tag,
    lastLookAt: now,
    ...(floor !== undefined ? { floor } : {}),
    ...(decision.newest !== undefined ? { newest: decision.newest } : {}),
    ...(decision.kind === 'wait' ? { waiting: decision.reason } : {}),
    ...(previous?.written ? { written: previous.written } : {}),
  };
  return { record, decision, ...(rolledBackFrom !== undefined ? { rolledBackFrom } : {}) };
}

function newestOf(policy: ImagePolicy, tags: readonly string[]): string {
  return tags.reduce((newest, tag) => (compareTags(policy, tag, newest) > 0 ? tag : newest));
}

/** Tags whose last deploy failed or was rolled back by berth (watch, checks), with no success since. */
export function rolledBackByBerth(history: readonly DeployRecord[]): Set<string> {
  const refused = new Set<string>();
  const decided = new Set<string>();
  for (const deploy of history) {
    if (decided.has(deploy.tag)) continue;
    decided.add(deploy.tag);
    if (deploy.outcome !== 'succeeded') refused.add(deploy.tag);
  }
  return refused;
}
