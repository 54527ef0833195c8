import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { CORE_SCHEMA, constructFromEvents, dump, parseEvents } from 'js-yaml';
import { constructPlainDocuments } from '../../../src/manifest/construct-plain.js';
import { packEvents } from '../../../src/manifest/packed-events.js';
import { CORPUS, anyYaml, anything } from '../../support/yaml-corpus.js';

/** js-yaml's documents, or the error it throws. */
function jsYaml(text: string): unknown[] | Error {
  try {
    return constructFromEvents(parseEvents(text, {}), { source: text, schema: CORE_SCHEMA });
  } catch (error) {
    return error as Error;
  }
}

/** Whether the plain construction built `text` (true) or declined it (false); throws if it disagrees with js-yaml. */
function agrees(text: string): boolean {
  const plain = constructPlainDocuments(packEvents(parseEvents(text, {})), text);
  if (plain === undefined) return false;
  const expected = jsYaml(text);
  if (expected instanceof Error)
    assert.fail(`built what js-yaml refuses (${expected.message}): ${JSON.stringify(text)}`);
  assert.deepStrictEqual(plain, expected, JSON.stringify(text));
  assert.equal(JSON.stringify(plain), JSON.stringify(expected), `key order of ${JSON.stringify(text)}`);
  return true;
}

const REFUSED_OR_SPECIAL = [
  'a: 1\na: 2\n',
  '1: one\n',
  'true: yes\n',
  '~: nothing\n',
  '__proto__: polluted\n',
  '<<: {a: 1}\n',
  'x: !!str 1\n',
  'x: &a 1\ny: *a\n',
  '%YAML 1.2\n---\nx: 1\n',
  '? [complex]\n: key\n',
  'a: [1, 2]\na: {}\n',
];

describe('building documents from packed events without js-yaml (constructPlainDocuments)', () => {
  it('builds exactly what js-yaml builds, or declines, for the corpus, edge cases and random YAML', () => {
    for (const text of [...CORPUS, ...REFUSED_OR_SPECIAL]) agrees(text);
    fc.assert(
      fc.property(anyYaml, (text) => void agrees(text)),
      { numRuns: 500 },
    );
  });

  it('builds the YAML manifests are written in: block and flow mappings and sequences, every scalar style', () => {
    const manifest = [
      'apiVersion: berth/v1',
      'kind: App',
      'metadata: {name: web}',
      'spec:',
      '  tag: "v1.2"',
      "  command: ['sh', '-c', 'it''s']",
      '  env:',
      '    EMPTY:',
      '    NUMBER: 0x1F',
      '    FLOAT: .5e3',
      '    INF: -.inf',
      '    BOOL: True',
      '    NOTHING: ~',
      '    SCRIPT: |',
      '      line one',
      '      line two',
      '    FOLDED: >-',
      '      folded',
      '      text',
      '    MULTI: plain',
      '      continued',
      '  ports:',
      '    - container: 8080',
      '      host: 80',
      '    - {container: 53, protocol: udp}',
      '---',
      '---',
      'second: document',
      '',
    ].join('\n');
    assert.ok(agrees(manifest), 'built, not declined');
    for (const text of REFUSED_OR_SPECIAL)
      assert.equal(
        constructPlainDocuments(packEvents(parseEvents(text, {})), text),
        undefined,
        `declines ${JSON.stringify(text)}`,
      );
  });

  it('never declines what js-yaml dumps of values whose keys are ordinary strings', () => {
    const plainKeys = (value: unknown): boolean =>
      Array.isArray(value)
        ? value.every(plainKeys)
        : value !== null && typeof value === 'object'
          ? Object.entries(value).every(([k, v]) => k !== '__proto__' && k !== '<<' && plainKeys(v))
          : true;
    fc.assert(
      fc.property(anything.filter(plainKeys), fc.boolean(), (value, flow) => {
        const text = dump(value, { flowLevel: flow ? 1 : -1 });
        assert.ok(agrees(text), `declined ${JSON.stringify(text)}`);
      }),
      { numRuns: 300 },
    );
  });
});
