/**
 * `berth retry APP` asks the running controller for one more attempt at a held revision: it drops
 * a file `<state-dir>/<namespace>/retry/<app>` and wakes the controller (SIGUSR2); the reconciler
 * takes the request (deletes the file) the next time it looks at the app.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateStore } from './store.js';

export class RetryRequests {
  private readonly dir: string;

  constructor(stateDir: string, namespace: string) {
    this.dir = join(StateStore.directory(stateDir, namespace), 'retry');
  }

  async request(app: string, now: number): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(join(this.dir, app), `${new Date(now).toISOString()}\n`, { mode: 0o600 });
  }

  /** True when a retry of `app` was asked for; the request is consumed. */
  async take(app: string): Promise<boolean> {
    const file = join(this.dir, app);
    const present = await stat(file).then(
      () => true,
      () => false,
    );
    if (present) await rm(file, { force: true });
    return present;
  }
}
