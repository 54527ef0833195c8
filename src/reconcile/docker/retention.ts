/**
 * Which image tags berth may release after a deploy. Pure: from the app's deploy history and the
 * tags berth created, the ones that belong to none of the last `keep` successfully deployed
 * revisions nor to the manifest's current image. Tags berth did not create are never candidates.
 */
import type { DeployRecord } from '../../state/types.js';
import { imageRef } from '../../manifest/image-ref.js';

export interface RetentionInput {
  /** Newest first, as the state keeps it. */
  history: readonly Pick<DeployRecord, 'revision' | 'image' | 'tag' | 'outcome'>[];
  /** Refs (`repo:tag`) berth created for the app. */
  owned: readonly string[];
  /** How many deployed revisions keep their images tagged (the serving one included). */
  keep: number;
  /** `<namespace>/<app>`, where remote images are mirrored. */
  localRepository: string;
  /** The manifest's image now: never released. */
  desired?: { image: string; tag: string };
}

export function releasableTags(input: RetentionInput): string[] {
  const { history, owned, keep, localRepository, desired } = input;
  const keptRevisions = new Set<string>();
  const keptRefs = new Set<string>();
  const keepRefsOf = (image: string, tag: string) => {
    keptRefs.add(imageRef(image, tag));
    keptRefs.add(imageRef(localRepository, tag));
  };
  for (const deploy of history) {
    if (deploy.outcome !== 'succeeded') continue;
    if (!keptRevisions.has(deploy.revision)) {
      if (keptRevisions.size >= keep) break;
      keptRevisions.add(deploy.revision);
    }
    keepRefsOf(deploy.image, deploy.tag);
  }
  if (desired) keepRefsOf(desired.image, desired.tag);
  return owned.filter((ref) => !keptRefs.has(ref));
}
