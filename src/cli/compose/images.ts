/**
 * Image automation for `run` (src/images/automation.ts): the tags of a repository from its
 * registry (Docker's config.json credentials, as pulls use them) and from the engine, and the
 * writer of a new tag: the manifest file in place, or with --git a commit pushed to the followed
 * branch (the source then fetches at once) or to --git-push-branch for review.
 */
import { join, relative } from 'node:path';
import type { EventSink } from '../../events/types.js';
import { ImageAutomation, type TagSources, type TagWriter } from '../../images/automation.js';
import { listTags } from '../../images/registry-client.js';
import { writeTagToFile } from '../../images/write-back/directory.js';
import { GitWriteBack } from '../../images/write-back/git.js';
import type { App } from '../../manifest/types.js';
import type { ImageMetrics } from '../../metrics/types.js';
import type { Runtime } from '../../runtime/types.js';
import { StateStore } from '../../state/store.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import type { GitSettings } from '../git-options.js';

export interface ImageParts {
  clock: Clock;
  logger: Logger;
  state: StateStore;
  events: EventSink;
  metrics?: ImageMetrics;
  runtime: Runtime;
  apps(): App[];
  /** The manifest directory (--manifests): a written file must lie inside it. */
  manifestsDir: string;
  /** With --git: where commits go, and the source to fetch once one is pushed to the followed branch. */
  git?: { settings: GitSettings; manifestsDir: () => string; fetchNow(): void; stateDir: string; namespace: string };
  /** On Swarm with a lease: whether this berth leads (only the leader looks and writes back). */
  mayWrite?(): boolean;
}

export function imageAutomation(parts: ImageParts): ImageAutomation {
  const { clock, logger, state, events, runtime } = parts;
  return new ImageAutomation({
    clock,
    logger,
    state,
    events,
    ...(parts.metrics ? { metrics: parts.metrics } : {}),
    apps: parts.apps,
    tags: tagSources(runtime, clock),
    writer: parts.git ? gitWriter(parts.git, clock, logger) : directoryWriter(parts.manifestsDir),
    ...(parts.mayWrite ? { mayWrite: parts.mayWrite } : {}),
  });
}

/** Where a repository's tags come from: its registry (Docker's credentials) and the engine's images. */
export function tagSources(runtime: Runtime, clock: Clock): TagSources {
  return {
    registry: (repository, signal) => listTags(repository, { env: process.env, clock }, signal),
    engine: async (repository) => {
      const prefix = `${repository}:`;
      return (await runtime.listImages(repository)).flatMap((image) =>
        image.repoTags.filter((t) => t.startsWith(prefix)).map((t) => t.slice(prefix.length)),
      );
    },
    digest: async (repository, tag) => {
      const local = await runtime.inspectImage(`${repository}:${tag}`);
      const pinned = local?.repoDigests.find((d) => d.startsWith(`${repository}@`));
      if (pinned) return pinned.slice(repository.length + 1);
      return (await runtime.inspectRemoteImage(`${repository}:${tag}`))?.digest;
    },
  };
}

function directoryWriter(root: string): TagWriter {
  return {
    write: async (move) => {
      await writeTagToFile(
        move.app.source.file,
        move.app.name,
        { tag: move.to, ...(move.digest ? { digest: move.digest } : {}) },
        { root, from: move.from },
      );
      return { kind: 'file', file: move.app.source.file };
    },
  };
}

function gitWriter(git: NonNullable<ImageParts['git']>, clock: Clock, logger: Logger): TagWriter {
  const { settings } = git;
  const writeBack = new GitWriteBack({
    url: settings.url,
    branch: settings.branch,
    path: settings.path,
    dir: join(StateStore.directory(git.stateDir, git.namespace), 'git', 'write-back'),
    author: settings.author,
    ...(settings.pushBranch !== undefined ? { pushBranch: settings.pushBranch } : {}),
    clock,
    logger,
  });
  return {
    write: async (move, signal) => {
      const file = relative(git.manifestsDir(), move.app.source.file);
      const result = await writeBack.propose(
        {
          app: move.app.name,
          file,
          from: move.from,
          to: move.to,
          policy: move.policy,
          ...(move.digest ? { digest: move.digest } : {}),
        },
        signal,
      );
      // The followed branch moved: fetch it now, so the deploy follows within seconds.
      if (settings.pushBranch === undefined) git.fetchNow();
      return {
        kind: settings.pushBranch !== undefined ? 'proposed' : 'commit',
        branch: result.branch,
        unchanged: result.kind === 'unchanged',
        ...(result.kind === 'pushed' ? { commit: result.commit } : {}),
      };
    },
  };
}
