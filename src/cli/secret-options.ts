import { SecretDecrypter, SecretError } from '../secrets/decrypter.js';
import { UsageError } from './usage.js';

/** `--age-identity FILE` (repeatable; also BERTH_AGE_IDENTITY_FILE, several separated by `:`) and where decrypted files go. */
export const SECRET_FLAGS = {
  'age-identity': { type: 'string', multiple: true, default: [] as string[] },
  'secrets-dir': { type: 'string' },
  'allow-secrets-on-disk': { type: 'boolean', default: false },
} as const;

export interface SecretValues {
  'age-identity': string[];
  'secrets-dir'?: string | undefined;
  'allow-secrets-on-disk': boolean;
}

export { identityFiles } from './identity-files.js';

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
