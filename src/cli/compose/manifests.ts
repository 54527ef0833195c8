/**
 * The manifests as `run` and `plan` read them, one pipeline for both: the directory (or the git
 * checkout's path), read for the engine -> host paths checked where the engine mounts them ->
 * each app's secrets decrypted -> with a git source, each app stamped with the commit it was read
 * from.
 */
import { HostPathCheckingSource } from '../../manifest/host-paths.js';
import { OriginStampingSource } from '../../manifest/origin.js';
import { ManifestDirectory } from '../../manifest/read/load.js';
import type { ManifestSet } from '../../manifest/types.js';
import type { SecretDecrypter } from '../../secrets/decrypter.js';
import type { AppliedTree } from '../../source/types.js';
import type { Engine } from './engine.js';
import { withSecrets } from './secrets.js';

/** What the controller (run) and the plan read: a directory's manifests, re-read at each call. */
export interface ManifestSource {
  readonly dir: string;
  read(): Promise<ManifestSet>;
}

/** What the pipeline is made of. */
export interface ManifestParts {
  /** --manifests: the directory read without a git checkout. */
  dir: string;
  shared: { namespace: string; stateDir: string; allowHostPaths: string[] };
  /** The domain apps without `domains` are served under, when there is one. */
  claims: { defaultDomain?: string };
  /** The engine's manifest policy (compose/engine.ts): what it cannot honour is said; on one host, host paths are checked. */
  engine: Pick<Engine, 'kind' | 'checksHostPaths'>;
  decrypter: SecretDecrypter;
  /** `run`: each app's decrypted files are to go in `<secretsRoot>/<app>`; without it (plan) they are never written. */
  secretsRoot?: string;
  /** With --git: the checkout read instead of `dir`; every file a manifest names lies inside it. */
  git?: GitCheckout;
}

/** A git checkout: where its manifests are, and, for `run`, which tree is in place (source/git/git-source.ts). */
export interface GitCheckout {
  readonly manifestsDir: string;
  readonly checkoutDir: string;
  /** The tree in place now; 'swapping' while it is being swapped; undefined before any tree. */
  applied?(): AppliedTree | 'swapping' | undefined;
}

/** The manifests as `run` and `plan` read them (see the top of this file); nothing is read yet. */
export async function manifestSource(parts: ManifestParts): Promise<ManifestSource> {
  const { shared, git } = parts;
  const directory = new ManifestDirectory(git?.manifestsDir ?? parts.dir, {
    namespace: shared.namespace,
    allowHostPaths: shared.allowHostPaths,
    runtime: parts.engine.kind,
    ...parts.claims,
  });
  const onHost = parts.engine.checksHostPaths
    ? await HostPathCheckingSource.create(directory, shared.allowHostPaths)
    : directory;
  const decrypted = await withSecrets(onHost, parts.decrypter, shared, {
    ...(parts.secretsRoot !== undefined ? { secretsRoot: parts.secretsRoot } : {}),
    ...(git ? { checkout: git.checkoutDir } : {}),
  });
  // Each app read carries the tree's commit (what its deploy records), when the checkout says which tree is in place.
  return git?.applied ? new OriginStampingSource(decrypted, { applied: () => git.applied?.() }) : decrypted;
}
