/**
 * An app's secrets (`envFrom`, `secrets`) as `run` and `plan` handle them: the namespace's
 * secrets root where `run` writes decrypted files, and the manifest source that decrypts each
 * app's files as it is read. The identities are read once, from --age-identity
 * (secret-options.ts: a bad file is a usage error).
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManifestSet } from '../../manifest/types.js';
import type { SecretDecrypter } from '../../secrets/decrypter.js';
import { digestKey, SecretResolvingSource } from '../../secrets/resolve.js';
import { secretsDirectory } from '../../secrets/secrets-directory.js';
import { StateStore } from '../../state/store.js';
import type { Logger } from '../../util/logger.js';
import { ensurePrivateDirectory } from '../../util/private-dir.js';
import type { SecretValues } from '../secret-options.js';

/** Where versions before the private secrets directory put decrypted files. */
const LEGACY_SECRETS_DIR = '/dev/shm/berth';

/**
 * The namespace's secrets root (see secrets-directory.ts), made and checked at start: a directory
 * that fails the check stops `run` with one line (UnsafeDirectoryError).
 */
export async function ensureSecretsRoot(
  values: SecretValues,
  shared: { stateDir: string; namespace: string },
  logger: Logger,
): Promise<string> {
  const stateDir = await ensurePrivateDirectory(StateStore.directory(shared.stateDir, shared.namespace), {
    create: true,
  });
  if (values['secrets-dir'] === undefined) {
    // The fixed directory of earlier versions: left as it is (nothing is removed through a path another user could have made).
    const earlier = join(LEGACY_SECRETS_DIR, shared.namespace);
    if (
      await lstat(earlier).then(
        () => true,
        () => false,
      )
    )
      logger.info(
        { step: 'secrets', earlier },
        `Secret files of an earlier berth are in ${earlier}; berth no longer uses or removes them: remove ${LEGACY_SECRETS_DIR} by hand once every app with secret files has been redeployed`,
      );
  }
  return secretsDirectory({
    namespace: shared.namespace,
    stateDir,
    allowOnDisk: values['allow-secrets-on-disk'],
    ...(values['secrets-dir'] !== undefined ? { explicit: values['secrets-dir'] } : {}),
    onReplaced: (taken, reason, chosen) =>
      logger.warn(
        { step: 'secrets', taken, chosen },
        `The recorded secrets directory ${taken} ${reason}; using ${chosen} instead`,
      ),
  });
}

/**
 * The manifest directory with each app's secrets decrypted as it is read. With `secretsRoot`
 * (run), each app's files are to go in `<secretsRoot>/<app>`; without it (plan), they are
 * decrypted, never written. Files must lie inside `checkout` (a git source's) or the directory.
 */
export async function withSecrets(
  inner: { readonly dir: string; read(): Promise<ManifestSet> },
  decrypter: SecretDecrypter,
  shared: { stateDir: string; namespace: string },
  where: { secretsRoot?: string; checkout?: string } = {},
): Promise<SecretResolvingSource> {
  const dir = await ensurePrivateDirectory(StateStore.directory(shared.stateDir, shared.namespace), { create: true });
  return new SecretResolvingSource(
    inner,
    decrypter,
    await digestKey(join(dir, 'secrets.key')),
    where.checkout ?? inner.dir,
    where.secretsRoot,
  );
}
