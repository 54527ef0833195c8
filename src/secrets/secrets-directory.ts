/**
 * Where a namespace's decrypted secret files go: a private directory on a tmpfs.
 *
 * - Given `--secrets-dir DIR`, it is `DIR/<namespace>`, checked from `/` down (private-dir.ts):
 *   the operator chose DIR, so a DIR another user made first is refused, not worked around.
 * - By default it is `/dev/shm/berth-<namespace>-<random>`, a name berth chose, created
 *   exclusively (by the first secret file written) and recorded in the namespace's (private)
 *   state directory. A recorded directory found missing at start (a reboot) is not made again
 *   under a name others may have seen: a new one is chosen. `/dev/shm` is
 *   world-writable, so a fixed name could be squatted by any local user before berth first made
 *   it; a recorded random one cannot be guessed before it exists, and if it is found taken (after
 *   a reboot emptied `/dev/shm`, say) berth picks and records another.
 *
 * Decrypted secrets belong in memory: a directory that is not on a tmpfs (or ramfs) is refused
 * unless the operator accepts that explicitly (`allowOnDisk`).
 */
import { randomBytes } from 'node:crypto';
import { lstat, readFile, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomically } from '../util/atomic-file.js';
import { ensurePrivateDirectory, UnsafeDirectoryError } from '../util/private-dir.js';

/** Where the default secrets directories are made: a tmpfs on every Linux host. */
const DEFAULT_SECRETS_PARENT = '/dev/shm';

/** The file in the namespace's state directory that records the default directory's name. */
const RECORD_FILE = 'secrets-dir';

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

interface SecretsDirectoryRequest {
  namespace: string;
  /** The namespace's state directory, already checked private. */
  stateDir: string;
  /** `--secrets-dir`, when given. */
  explicit?: string;
  /** `--allow-secrets-on-disk`. */
  allowOnDisk: boolean;
  /** Where default directories are made; /dev/shm but in tests. */
  parent?: string;
  /** Told when a recorded directory was found taken and another was chosen. */
  onReplaced?: (taken: string, reason: string, chosen: string) => void;
}

/**
 * The namespace's secrets root, checked private and on tmpfs; UnsafeDirectoryError otherwise. An
 * explicit one is made now; the default one is named and recorded now, and made by the first
 * secret file written into it (so a berth whose apps have no secret files leaves /dev/shm alone).
 */
export async function secretsDirectory(request: SecretsDirectoryRequest): Promise<string> {
  const dir =
    request.explicit !== undefined
      ? await ensurePrivateDirectory(join(resolve(request.explicit), request.namespace), { create: true, secret: true })
      : await defaultDirectory(request);
  if (!request.allowOnDisk) {
    const { type } = await statfs(request.explicit !== undefined ? dir : (request.parent ?? DEFAULT_SECRETS_PARENT));
    if (type !== TMPFS_MAGIC && type !== RAMFS_MAGIC)
      throw new UnsafeDirectoryError(
        dir,
        'is not on a tmpfs, so decrypted secrets would reach a disk (--secrets-dir on a tmpfs, or --allow-secrets-on-disk to accept it)',
      );
  }
  return dir;
}

async function defaultDirectory(request: SecretsDirectoryRequest): Promise<string> {
  const parent = request.parent ?? DEFAULT_SECRETS_PARENT;
  const record = join(request.stateDir, RECORD_FILE);
  const recorded = (await readFile(record, 'utf8').catch(() => '')).trim();
  if (isOurName(recorded, parent, request.namespace)) {
    // Gone (a reboot emptied the tmpfs): its name may have been seen while it existed, so it is not made again.
    const exists = await lstat(recorded).then(
      () => true,
      () => false,
    );
    if (!exists) return recordChoice(record, freshName(parent, request.namespace));
    try {
      return await ensurePrivateDirectory(recorded, { secret: true });
    } catch (error) {
      if (!(error instanceof UnsafeDirectoryError)) throw error;
      const chosen = freshName(parent, request.namespace);
      request.onReplaced?.(recorded, error.reason, chosen);
      await writeFileAtomically(record, `${chosen}\n`, 0o600);
      return chosen;
    }
  }
  return recordChoice(record, freshName(parent, request.namespace));
}

async function recordChoice(record: string, chosen: string): Promise<string> {
  await writeFileAtomically(record, `${chosen}\n`, 0o600);
  return chosen;
}

/** A new `<parent>/berth-<namespace>-<random>`: unguessable until berth makes it (mkdir, which never takes over what exists). */
function freshName(parent: string, namespace: string): string {
  return join(parent, `berth-${namespace}-${randomBytes(8).toString('hex')}`);
}

/** A recorded name is trusted only in the form berth writes: a state file is no licence to point berth anywhere. */
function isOurName(recorded: string, parent: string, namespace: string): boolean {
  const prefix = join(parent, `berth-${namespace}-`);
  return recorded.startsWith(prefix) && /^[0-9a-f]{16}$/.test(recorded.slice(prefix.length));
}
