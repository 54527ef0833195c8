/**
 * Keeps V8's young generation (where new objects are made, and from which the ones still alive
 * are copied at each scavenge) at the size it starts with, 1 MiB per semi-space. V8 doubles it,
 * up to 16 MiB, whenever much of it survives a scavenge, as it does when berth reads a large
 * manifest directory and keeps every app it reads: the bigger young generation then costs tens of
 * MiB of resident memory, and measured, more CPU time too (`validate` of 10,000 manifests: see
 * docs/speed.md). Node cannot be given V8's size flags from a shebang; the growth factor is one
 * V8 reads whenever it would grow, so it takes effect when set at run time. Node sets V8's flags
 * again when a worker thread starts, for the whole process: a worker sets it again once started
 * (src/manifest/read/read-worker.ts). `node:v8` loads only then: it costs a few ms of a start.
 */
import { createRequire } from 'node:module';

/** The V8 flag that keeps the young generation at its first size. */
export const KEEP_YOUNG_GENERATION_FLAG = '--semi-space-growth-factor=1';

/** Sets KEEP_YOUNG_GENERATION_FLAG. Only ever a speed-up: a V8 that refuses it is left as it is. */
export function keepYoungGenerationSmall(): void {
  try {
    const { setFlagsFromString } = createRequire(import.meta.url)('node:v8') as typeof import('node:v8');
    setFlagsFromString(KEEP_YOUNG_GENERATION_FLAG);
  } catch {
    // a speed-up only
  }
}
