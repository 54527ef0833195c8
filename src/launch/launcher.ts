/**
 * The `berth` executable, `dist/cli.js`. scripts/bundle.mjs bundles the CLI once per command, each
 * bundle holding the command line's shared code and that one command (`dist/command-<name>.js`,
 * and `dist/no-command.js` for usage and unknown commands); this picks the bundle of the command
 * argv names and runs it through V8's code cache (code-cache.ts, cache-location.ts).
 */
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeCacheDir, codeCacheFile, isStaleCacheOf, type BundleId } from './cache-location.js';
import { loadBundle, type CodeCache } from './code-cache.js';

/** Written in by scripts/bundle.mjs: each command's bundle, and the bundle for anything else. */
declare const BERTH_BUNDLES: { commands: Record<string, string>; other: string; hashes: Record<string, string> };

// A reader that stops reading (`berth plan | head`) ends berth quietly, as it ends other
// command-line tools, instead of with an unhandled EPIPE error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    // 128 + SIGPIPE: the status a tool killed by the signal has (Node ignores the signal itself).
    process.exit(141);
  });
}

const argv = process.argv.slice(2);
const name = Object.hasOwn(BERTH_BUNDLES.commands, argv[0] ?? '')
  ? BERTH_BUNDLES.commands[argv[0]!]!
  : BERTH_BUNDLES.other;
const bundle: BundleId = { name, hash: BERTH_BUNDLES.hashes[name]! };
const dir = codeCacheDir(process.env, homedir);
const cache: CodeCache | undefined =
  dir === undefined
    ? undefined
    : {
        file: codeCacheFile(dir, bundle, {
          version: process.version,
          arch: process.arch,
          flags: `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`,
        }),
        isStale: (file) => isStaleCacheOf(file, bundle),
      };
const { main } = loadBundle(join(dirname(fileURLToPath(import.meta.url)), `${name}.js`), cache).exports as {
  main: (argv: string[]) => Promise<number>;
};
/** How long a command that has finished may wait for the event loop to drain before it exits anyway. */
const DRAIN_MS = 5_000;

void main(argv).then((code) => {
  process.exitCode = code;
  // The command has finished (berth run: stopped, its state flushed). A handle a library failed to
  // let go (chokidar closed in the middle of its first scan keeps fs.watch handles) must not keep
  // the process alive: systemd's stop would wait for its timeout and kill it.
  setTimeout(() => process.exit(code), DRAIN_MS).unref();
});
