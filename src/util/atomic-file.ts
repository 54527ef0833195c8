import { rename, rm, writeFile } from 'node:fs/promises';

/** Writes `file` whole or not at all: a temporary file beside it, renamed over it. A reader never sees half of it. */
export async function writeFileAtomically(file: string, content: string | Uint8Array, mode: number): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temp, content, { mode });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}
