import type { ChildProcess } from 'node:child_process';

/** Sends `signal` to `child` and resolves once it has exited; at once when it is gone already. */
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}
