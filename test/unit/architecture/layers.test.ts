import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** The folders of src/, lowest first: each may import only folders before it (README, "Layout"). */
const LAYERS = [
  'util',
  'source',
  'events',
  'manifest',
  'secrets',
  'runtime',
  'state',
  'lease',
  'checks',
  'proxy',
  'tls',
  'notify',
  'metrics',
  'reconcile',
  'tags',
  'status',
  'controller',
  'images',
  'http',
  'cli',
  'launch',
];

const SRC = resolve('src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The src/ folder a file belongs to; '' for a file directly in src/. */
function folderOf(file: string): string {
  const [first = '', ...rest] = relative(SRC, file).split('/');
  return rest.length === 0 ? '' : first;
}

/** Every relative import of `file`, resolved to a path relative to src/ (`reconcile/core/recorder.js`). */
function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) =>
    relative(SRC, resolve(dirname(file), m[1] ?? '')),
  );
}

/** Every import of the files under `dir` (relative to src/) that lands under one of `targets`, as `file -> import`. */
function importsInto(dir: string, targets: readonly string[]): string[] {
  return sourceFiles(join(SRC, dir)).flatMap((file) =>
    importsOf(file)
      .filter((target) => targets.some((t) => target.startsWith(`${t}/`)))
      .map((target) => `${relative(SRC, file)} -> ${target}`),
  );
}

/** Every folder-crossing import of src/ as `from -> to (file)`. */
function crossings(): { from: string; to: string; file: string }[] {
  return sourceFiles(SRC).flatMap((file) => {
    const from = folderOf(file);
    const specifiers = [...readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map(
      (m) => m[1] ?? '',
    );
    return specifiers
      .map((specifier) => ({ from, to: folderOf(resolve(dirname(file), specifier)), file: relative(SRC, file) }))
      .filter((edge) => edge.from !== edge.to);
  });
}

describe('src/ layers', () => {
  it('names every folder of src/ in the layer order', () => {
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    assert.deepEqual(folders, [...LAYERS].sort());
  });

  it('has each folder import only folders below it, so no two folders import each other', () => {
    const edges = crossings();
    assert.ok(
      edges.some(({ from, to }) => from === 'reconcile' && to === 'proxy'),
      'the import scan finds imports at all',
    );
    const upward = edges.filter(({ from, to }) => from !== '' && LAYERS.indexOf(to) >= LAYERS.indexOf(from));
    assert.deepEqual(
      upward.map(({ from, to, file }) => `${from} -> ${to} (${file})`),
      [],
    );
  });

  it('keeps the controller loop free of engine types: it knows apps by name through AppReconciler', () => {
    const text = readFileSync(join(SRC, 'controller', 'controller.ts'), 'utf8');
    assert.doesNotMatch(text, /runtime\/|Container|dockerode|HostSnapshot|TrafficRouter/);
  });

  it('keeps the engines apart: reconcile/docker and reconcile/swarm import reconcile/core, never each other', () => {
    assert.ok(importsInto('reconcile/docker', ['reconcile/core']).length > 0, 'docker/ uses the core');
    assert.ok(importsInto('reconcile/swarm', ['reconcile/core']).length > 0, 'swarm/ uses the core');
    assert.deepEqual(importsInto('reconcile/docker', ['reconcile/swarm']), []);
    assert.deepEqual(importsInto('reconcile/swarm', ['reconcile/docker']), []);
  });

  it('keeps the core engine-neutral: reconcile/core imports neither engine nor a runtime', () => {
    assert.deepEqual(importsInto('reconcile/core', ['reconcile/docker', 'reconcile/swarm', 'runtime']), []);
  });

  it('has the controller and the commands name no engine: only cli/compose/engine.ts chooses one', () => {
    const engines = ['reconcile/docker', 'reconcile/swarm'];
    assert.deepEqual(importsInto('controller', engines), []);
    assert.deepEqual(importsInto('cli/commands', engines), []);
    const chosen = importsInto('cli', engines).map((line) => line.split(' -> ')[0]);
    assert.deepEqual([...new Set(chosen)], ['cli/compose/engine.ts']);
  });
});
