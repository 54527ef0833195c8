import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';

/**
 * Writes `file` whole or not at all: a temporary file beside it, renamed over it. A reader never
 * sees half of it. The temporary name is unpredictable and created exclusively (`O_EXCL` never
 * follows a link planted at the name), and the content is synced before the rename.
 */
export async function writeFileAtomically(file: string, content: string | Uint8Array, mode: number): Promise<void> {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}
