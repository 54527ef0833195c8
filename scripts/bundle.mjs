#!/usr/bin/env node
/**
 * Bundles the CLI into dist/ with esbuild: `dist/cli.js` (the `berth` command: options and the
 * command table) and `dist/tokenize-worker.js` (the manifest tokenizing worker, beside the code that
 * starts it), plus chunks: each command is loaded when it runs, with the chunks it shares with
 * others, so `berth status` never loads what `berth run` needs. One build, so every class (the
 * typed errors the CLI maps to messages) exists once. Types are checked by `tsc`
 * (`npm run build:test`), not here.
 *
 * Packages that berth imports dynamically (age-encryption, acme-client, pino-pretty, ...) are
 * for some runs only: they stay in node_modules and load when imported.
 *
 * Modules that only some calls need are deferred: they load on first use instead of at start
 * (dockerode's BuildKit session and client pull in gRPC and protobufjs, its build context support
 * tar-fs and dockerignore, docker-modem's SSH transport ssh2 and its hijacked streams (exec with
 * stdin, attach) readable-stream, Node's https for an engine over TLS and zlib for build contexts:
 * berth builds nothing, uses SSH only when DOCKER_HOST is ssh:// and TLS only when it is tcp://
 * with DOCKER_TLS_VERIFY, and hijacks a stream only in `run`). They stay in node_modules.
 */
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const requireHere = createRequire(join(root, 'package.json'));

/** `from` requires `specifier`: both as written in the package (`dockerode/lib/docker.js` requires `./session`). */
const DEFERRED = [
  { from: /[\\/]node_modules[\\/]dockerode[\\/]lib[\\/]docker\.js$/, specifier: './session', module: 'dockerode/lib/session.js' },
  { from: /[\\/]node_modules[\\/]dockerode[\\/]lib[\\/]docker\.js$/, specifier: './buildkit', module: 'dockerode/lib/buildkit.js' },
  { from: /[\\/]node_modules[\\/]dockerode[\\/]lib[\\/]util\.js$/, specifier: 'tar-fs', module: 'tar-fs' },
  { from: /[\\/]node_modules[\\/]dockerode[\\/]lib[\\/]util\.js$/, specifier: '@balena/dockerignore', module: '@balena/dockerignore' },
  { from: /[\\/]node_modules[\\/]docker-modem[\\/]lib[\\/]modem\.js$/, specifier: './ssh', module: 'docker-modem/lib/ssh.js' },
  { from: /[\\/]node_modules[\\/]docker-modem[\\/]lib[\\/]modem\.js$/, specifier: './http_duplex', module: 'docker-modem/lib/http_duplex.js' },
  { from: /[\\/]node_modules[\\/]docker-modem[\\/]lib[\\/]http\.js$/, specifier: 'https', module: 'https' },
  { from: /[\\/]node_modules[\\/]dockerode[\\/]lib[\\/]util\.js$/, specifier: 'zlib', module: 'zlib' },
];

/**
 * A deferred module becomes a function-shaped stand-in that requires the real module (by its
 * package path, from node_modules at run time) on first call, construction or property read.
 */
const deferModules = {
  name: 'defer-modules',
  setup(esbuild) {
    esbuild.onResolve({ filter: /.*/ }, (args) => {
      const deferred = DEFERRED.find((d) => d.specifier === args.path && d.from.test(args.importer));
      if (!deferred) return undefined;
      requireHere.resolve(deferred.module);
      return { path: deferred.module, namespace: 'deferred' };
    });
    esbuild.onLoad({ filter: /.*/, namespace: 'deferred' }, (args) => ({
      loader: 'js',
      // \`new\` of the stand-in makes an instance of the real class (its prototype, not the stand-in's).
      contents: `let real;
const load = () => (real ??= require(${JSON.stringify(args.path)}));
const standIn = new Proxy(function deferred() {}, {
  apply: (_, self, args) => Reflect.apply(load(), self, args),
  construct: (_, args, newTarget) => Reflect.construct(load(), args, newTarget === standIn ? load() : newTarget),
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
});
module.exports = standIn;
`,
    }));
  },
};

/** Packages imported dynamically: from node_modules, when imported. */
const dynamicPackagesApart = {
  name: 'dynamic-packages-apart',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^[^./]/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined));
  },
};

rmSync(join(root, 'dist'), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { cli: 'src/cli.ts', 'tokenize-worker': 'src/manifest/tokenize-worker.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Bundled CommonJS modules require Node's own modules: give every chunk a real `require`.
  banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module';\nconst require = __berthCreateRequire(import.meta.url);" },
  // The deferred modules are required at run time from node_modules, as written.
  external: DEFERRED.map((d) => d.module),
  plugins: [dynamicPackagesApart, deferModules],
  sourcemap: 'linked',
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
