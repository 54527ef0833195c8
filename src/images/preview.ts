/**
 * `berth plan`'s line for an app's image policy: one look at the repository (the registry's tags and
 * the engine's), judged as `run` would judge it, written nowhere.
 */
import type { App } from '../manifest/types.js';
import type { AppRecord, RepositoryRecord } from '../state/types.js';
import type { TagSources } from './automation.js';
import { judgeApp } from './judge-app.js';
import { describePolicy } from './policy.js';
import { candidateTags } from './candidate-tags.js';

/** `1.4.3 available (semver >=1.0.0 <2.0.0): would write tag`, or why the tag stays. */
export async function policyPreview(
  app: App,
  records: { app?: AppRecord; repository?: RepositoryRecord },
  sources: TagSources,
  now: number,
  signal: AbortSignal,
): Promise<string | undefined> {
  const policy = app.spec.imagePolicy;
  if (!policy) return undefined;
  let candidates: string[];
  try {
    candidates = await candidateTags(sources, app.spec.image, signal);
  } catch (error) {
    return `image policy ${describePolicy(policy)}: cannot look at ${app.spec.image}: ${(error as Error).message}; the tag stays ${app.spec.tag}`;
  }
  const firstSeen: Record<string, number> = { ...records.repository?.firstSeen };
  for (const tag of candidates) firstSeen[tag] ??= now;
  const { decision, record } = judgeApp({
    policy,
    tag: app.spec.tag,
    ...(records.app?.imagePolicy ? { previous: records.app.imagePolicy } : {}),
    candidates,
    firstSeen,
    history: records.app?.history ?? [],
    now,
  });
  return decision.kind === 'adopt'
    ? `${decision.tag} available (${record.policy}): would write tag`
    : `image policy ${record.policy}: ${decision.reason}`;
}
