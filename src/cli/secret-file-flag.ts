import { readSecretFile, SecretFileError } from '../util/secret-file.js';
import { UsageError } from './usage.js';

/**
 * The text of a secret file a flag names (`--notify-secret-file`, `--notify-file`,
 * `--git-webhook-secret-file`, `--git-url-file`), refused in one line naming the flag, the file and
 * the fix when another user could read or change it (util/secret-file.ts).
 */
export async function secretFileText(flag: string, file: string): Promise<string> {
  try {
    return await readSecretFile(file);
  } catch (error) {
    if (error instanceof SecretFileError) throw new UsageError(`${flag} ${error.message}`);
    throw error;
  }
}
