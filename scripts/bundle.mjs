#!/usr/bin/env node
/**
 * Bundles the CLI into dist/ with esbuild: `dist/cli.js` (the `berth` command: options and the
 * command table) and `dist/read-worker.js` (the worker that reads and tokenizes manifests, beside the
 * code that starts it), plus chunks: each command is loaded when it runs, with the chunks it shares
 * with others, so `berth status` never loads what `berth run` needs. One build, so every class (the
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
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { withAssignedParserState } from './js-yaml-parser-state.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const requireHere = createRequire(join(root, 'package.json'));

/** `from` requires `specifier`: both as written in the package (`dockerode/lib/docker.js` requires `./session`). */
const DEFERRED = [
  {
    from: /[\\/]node_modules[\\/]dockerode[\\/]lib[\\/]docker\.js$/,
    specifier: './session',
    module: 'dockerode/lib/session.js',
  },
  {
    from: /[\\/]node_modules[\\/]dockerode[\\/]lib[\\/]docker\.js$/,
    specifier: './buildkit',
    module: 'dockerode/lib/buildkit.js',
  },
  { from: /[\\/]node_modules[\\/]dockerode[\\/]lib[\\/]util\.js$/, specifier: 'tar-fs', module: 'tar-fs' },
  {
    from: /[\\/]node_modules[\\/]dockerode[\\/]lib[\\/]util\.js$/,
    specifier: '@balena/dockerignore',
    module: '@balena/dockerignore',
  },
  {
    from: /[\\/]node_modules[\\/]docker-modem[\\/]lib[\\/]modem\.js$/,
    specifier: './ssh',
    module: 'docker-modem/lib/ssh.js',
  },
  {
    from: /[\\/]node_modules[\\/]docker-modem[\\/]lib[\\/]modem\.js$/,
    specifier: './http_duplex',
    module: 'docker-modem/lib/http_duplex.js',
  },
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
    esbuild.onResolve({ filter: /^[^./]/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined,
    );
  },
};

/**
 * The commands of src/cli/main.ts's table, as `name: async () => (await import('./commands/<module>.js')).<export>,`
 * lines: each gets a bundle of its own. The build fails if a table entry does not read so.
 */
function commandTable() {
  const text = readFileSync(join(root, 'src/cli/main.ts'), 'utf8');
  const entries = [
    ...text.matchAll(/^\s+'?([\w:]+)'?: async \(\) => \(await import\('\.\/commands\/([\w-]+)\.js'\)\)\.\w+,$/gm),
  ].map((m) => ({ name: m[1], module: m[2] }));
  const imports = text.match(/import\('\.\/commands\//g)?.length ?? 0;
  if (entries.length === 0 || entries.length !== imports)
    throw new Error(`bundle.mjs: read ${entries.length} of the ${imports} commands in src/cli/main.ts's table`);
  return entries;
}

/** In the bundle of `module` (undefined: of no command), every other command's module is a stand-in that refuses to load. */
const onlyCommand = (module) => ({
  name: 'only-command',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^\.\/commands\// }, (args) => {
      if (!/[\\/]src[\\/]cli[\\/]main\.ts$/.test(args.importer)) return undefined;
      return args.path === `./commands/${module}.js` ? undefined : { path: args.path, namespace: 'other-command' };
    });
    esbuild.onLoad({ filter: /.*/, namespace: 'other-command' }, (args) => ({
      loader: 'js',
      contents: `throw new Error(${JSON.stringify(`${args.path} is not in this bundle`)});`,
    }));
  },
});

/** Every bundle is CommonJS (code-cache.ts compiles it as a script); `import.meta.url` is its file's URL. */
const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // A script compiled by vm.Script cannot import() without an experimental flag: a dynamic import
  // (of a package berth keeps apart, or of Node's own module) is a require() when first reached.
  supported: { 'dynamic-import': false },
  // `berth --version` (src/cli/version.ts): package.json's version, fixed at build time.
  define: {
    'import.meta.url': '__berthModuleUrl',
    BERTH_VERSION: JSON.stringify(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version),
  },
  banner: { js: 'var __berthModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
  // The deferred modules are required at run time from node_modules, as written.
  external: DEFERRED.map((d) => d.module),
  sourcemap: 'linked',
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};

/**
 * js-yaml's ES module build, bundled with its parser's state made by Object.assign instead of
 * object spread (js-yaml-parser-state.mjs says why): its parser runs several times faster.
 */
const fastJsYamlParser = {
  name: 'fast-js-yaml-parser',
  setup(esbuild) {
    esbuild.onLoad({ filter: /[\\/]node_modules[\\/]js-yaml[\\/]dist[\\/]js-yaml\.mjs$/ }, (args) => ({
      contents: withAssignedParserState(readFileSync(args.path, 'utf8')),
      loader: 'js',
    }));
  },
};

const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
const commands = commandTable();
const bundles = [
  ...commands.map((c) => ({ name: `command-${c.module}`, module: c.module })),
  { name: 'no-command', module: undefined },
];
await Promise.all([
  ...bundles.map((b) =>
    build({
      ...common,
      entryPoints: { [b.name]: 'src/cli/main.ts' },
      outdir: 'dist',
      plugins: [fastJsYamlParser, dynamicPackagesApart, deferModules, onlyCommand(b.module)],
    }),
  ),
  build({
    ...common,
    entryPoints: { 'read-worker': 'src/manifest/read/read-worker.ts' },
    outdir: 'dist',
    plugins: [fastJsYamlParser, dynamicPackagesApart, deferModules],
  }),
]);
// dist/ is CommonJS, whatever the package's type.
writeFileSync(join(dist, 'package.json'), '{ "type": "commonjs" }\n');
const hashes = Object.fromEntries(
  bundles.map((b) => [
    b.name,
    createHash('sha256')
      .update(readFileSync(join(dist, `${b.name}.js`)))
      .digest('hex')
      .slice(0, 16),
  ]),
);
await build({
  ...common,
  entryPoints: { cli: 'src/launch/launcher.ts' },
  outdir: 'dist',
  define: {
    ...common.define,
    BERTH_BUNDLES: JSON.stringify({
      commands: Object.fromEntries(commands.map((c) => [c.name, `command-${c.module}`])),
      other: 'no-command',
      hashes,
    }),
  },
  banner: { js: `#!/usr/bin/env node\n${common.banner.js}` },
});
