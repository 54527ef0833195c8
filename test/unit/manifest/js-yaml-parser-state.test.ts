import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import * as jsYaml from 'js-yaml';
import { CORPUS, anyYaml } from '../../support/yaml-corpus.js';

type ParseEvents = typeof jsYaml.parseEvents;

/** What parseEvents gives, or the error it throws (its message and mark). */
function outcome(parseEvents: ParseEvents, text: string, maxDepth?: number): unknown {
  try {
    return parseEvents(text, maxDepth === undefined ? {} : { maxDepth });
  } catch (error) {
    const { message, mark } = error as jsYaml.YAMLException;
    return { error: message, mark: mark && { line: mark.line, column: mark.column, position: mark.position } };
  }
}

describe('js-yaml as bundled, its parser state made by Object.assign (scripts/js-yaml-parser-state.mjs)', () => {
  let dir: string;
  let patchedSource: string;
  let patched: ParseEvents;

  before(async () => {
    const { withAssignedParserState } = (await import(
      pathToFileURL(join(process.cwd(), 'scripts', 'js-yaml-parser-state.mjs')).href
    )) as { withAssignedParserState: (source: string) => string };
    const source = readFileSync(join(createRequire(import.meta.url).resolve('js-yaml'), '..', 'js-yaml.mjs'), 'utf8');
    dir = mkdtempSync(join(tmpdir(), 'berth-js-yaml-'));
    patchedSource = withAssignedParserState(source);
    writeFileSync(join(dir, 'js-yaml.mjs'), patchedSource);
    patched = ((await import(pathToFileURL(join(dir, 'js-yaml.mjs')).href)) as typeof jsYaml).parseEvents;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives exactly the events and errors js-yaml gives', () => {
    assert.match(patchedSource, /const state = Object\.assign\(\{\}, DEFAULT_PARSER_OPTIONS, options, \{\n\t\tinput:/);
    const refused = ['a: [1', 'a: b: c', '\tkey: v', 'a: &x 1\nb: *y', '%YAML 1.2\n%YAML 1.2\n---\na', 'a:\n  - b\n c'];
    for (const text of [...CORPUS, ...refused]) {
      assert.deepEqual(outcome(patched, text), outcome(jsYaml.parseEvents, text), JSON.stringify(text));
      assert.deepEqual(outcome(patched, text, 2), outcome(jsYaml.parseEvents, text, 2), JSON.stringify(text));
    }
    fc.assert(
      fc.property(anyYaml, (text) => assert.deepEqual(outcome(patched, text), outcome(jsYaml.parseEvents, text))),
      { numRuns: 300 },
    );
  });

  it('refuses a js-yaml whose parser state is not written as expected, rather than bundle it unchanged', async () => {
    const { withAssignedParserState } = (await import(
      pathToFileURL(join(process.cwd(), 'scripts', 'js-yaml-parser-state.mjs')).href
    )) as { withAssignedParserState: (source: string) => string };
    assert.throws(() => withAssignedParserState('function parseEvents(input, options) {}'), /found it 0 times/);
  });
});
