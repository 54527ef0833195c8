import { secretFileText } from './secret-file-flag.js';
import { UsageError } from './usage.js';

/** The flags of image automation (`spec.imagePolicy`). */
export const IMAGE_FLAGS = {
  'registry-webhook-secret-file': { type: 'string' },
} as const;

export interface ImageValues {
  'registry-webhook-secret-file'?: string | undefined;
  listen?: string | undefined;
}

/** What the image flags ask for: the registry webhook's shared secret (a secret file, 0600), which needs --listen. */
export async function registryWebhookSecret(values: ImageValues): Promise<Buffer | undefined> {
  const file = values['registry-webhook-secret-file'];
  if (file === undefined) return undefined;
  if (values.listen === undefined) throw new UsageError('--registry-webhook-secret-file needs --listen');
  const secret = (await secretFileText('--registry-webhook-secret-file', file)).trim();
  if (secret === '') throw new UsageError(`--registry-webhook-secret-file ${file} is empty`);
  return Buffer.from(secret, 'utf8');
}
