import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ManifestSet } from '../manifest/types.js';
import { SecretDecrypter, SecretError } from '../secrets/decrypter.js';
import { digestKey, SecretResolvingSource } from '../secrets/resolve.js';
import { StateStore } from '../state/store.js';
import { UsageError } from './usage.js';

/** `--age-identity FILE` (repeatable; also BERTH_AGE_IDENTITY_FILE, several separated by `:`) and where decrypted files go. */
export const SECRET_FLAGS = {
  'age-identity': { type: 'string', multiple: true, default: [] as string[] },
  'secrets-dir': { type: 'string', default: '/dev/shm/berth' },
} as const;

export interface SecretValues {
  'age-identity': string[];
  'secrets-dir': string;
}

/** The identity files the flags and BERTH_AGE_IDENTITY_FILE (`:`-separated) name. */
export function identityFiles(values: SecretValues, env: NodeJS.ProcessEnv = process.env): string[] {
  return [...values['age-identity'], ...(env.BERTH_AGE_IDENTITY_FILE ?? '').split(':').filter(Boolean)];
}

/** The identities of `files`, read once; none given is no error until an app names a secret. */
export async function secretDecrypter(files: string[]): Promise<SecretDecrypter> {
  if (files.length === 0) return SecretDecrypter.none();
  try {
    return await SecretDecrypter.fromIdentityFiles(files);
  } catch (error) {
    if (error instanceof SecretError) throw new UsageError(`--age-identity ${error.message}`);
    throw error;
  }
}

/** `<secrets-dir>/<namespace>`: each app's decrypted files go in a directory of it. */
export function secretsRoot(values: SecretValues, namespace: string): string {
  return join(resolve(values['secrets-dir']), namespace);
}

/** The manifest directory with each app's secrets decrypted as it is read. */
export async function withSecrets(inner: { readonly dir: string; read(): Promise<ManifestSet> }, decrypter: SecretDecrypter, values: SecretValues, shared: { stateDir: string; namespace: string }): Promise<SecretResolvingSource> {
  const dir = StateStore.directory(shared.stateDir, shared.namespace);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return new SecretResolvingSource(inner, decrypter, await digestKey(join(dir, 'secrets.key')), secretsRoot(values, shared.namespace));
}
