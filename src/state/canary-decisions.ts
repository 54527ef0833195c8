/**
 * `berth promote APP` / `berth abort APP`: a person decides a canary now. The command drops a file
 * `<state-dir>/<namespace>/canary-decision/<app>` holding `promote` or `abort` and wakes the
 * running controller (SIGUSR2, as `berth retry`); the reconciler takes the decision (deletes the
 * file) the next time it looks at the app. A decision about an app with no canary under way then
 * is dropped. The file is read only as far as a decision word goes.
 */
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateStore } from './store.js';

/** What a person can decide about a canary. */
export type CanaryDecision = 'promote' | 'abort';

/** The bytes of a decision file read at most. */
const READ_BYTES = 16;

export class CanaryDecisions {
  private readonly dir: string;

  constructor(stateDir: string, namespace: string) {
    this.dir = join(StateStore.directory(stateDir, namespace), 'canary-decision');
  }

  /** Leaves `decision` for the controller; a later request replaces an earlier one not yet taken. */
  async request(app: string, decision: CanaryDecision): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(join(this.dir, app), `${decision}\n`, { mode: 0o600 });
  }

  /** The decision asked for `app`, consumed; undefined when none (or the file says neither word). */
  async take(app: string): Promise<CanaryDecision | undefined> {
    const file = join(this.dir, app);
    const handle = await open(file, 'r').catch(() => undefined);
    if (handle === undefined) return undefined;
    let text: string;
    try {
      const buffer = Buffer.alloc(READ_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, 0);
      text = buffer.subarray(0, bytesRead).toString('utf8').trim();
    } finally {
      await handle.close();
    }
    await rm(file, { force: true });
    return text === 'promote' || text === 'abort' ? text : undefined;
  }
}
