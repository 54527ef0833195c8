/**
 * A hostile local user's side of a race: a process that swaps `<parent>/<name>` and
 * `<parent>/<link>` (a link to another directory) as fast as it can, so that a path through
 * `<parent>/<name>` leads now to the real directory, now through the link.
 */
import { spawn } from 'node:child_process';

export function swapDirectories(parent: string, name: string, link: string): { stop(): Promise<void> } {
  const swapper = spawn(
    process.execPath,
    [
      '-e',
      `const { renameSync } = require('node:fs'); process.chdir(${JSON.stringify(parent)});
       const [a, b] = ${JSON.stringify([name, link])};
       for (;;) { try { renameSync(a, 'x'); renameSync(b, a); renameSync('x', b); } catch {} }`,
    ],
    { stdio: 'ignore' },
  );
  return {
    stop: async () => {
      swapper.kill();
      await new Promise((resolve) => swapper.once('exit', resolve));
    },
  };
}
