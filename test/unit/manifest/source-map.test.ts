import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { dump, parseEvents } from 'js-yaml';
import { analyzeFile, analyzeTokenizedFiles, type AnalyzeJob } from '../../../src/manifest/analyze-file.js';
import { tokenizeFile } from '../../../src/manifest/tokenize-file.js';
import { EventWriter, decodeEvents } from '../../../src/manifest/event-codec.js';
import { childPointer } from '../../../src/manifest/source-map.js';
import { parseManifestText, type ParsedDocument } from '../../../src/manifest/parse.js';

/** YAML that uses every kind of event and position the parser has. */
const CORPUS = [
  'a: 1\nb: [x, {c: "d"}]\ne:\n  - f\n  -\n  - &g {h: i}\n  - *g\nj: |\n  block\n  text\nk: >-\n  folded\n',
  '%YAML 1.2\n%TAG !e! tag:example.com,2000:\n--- !e!thing\nx: !!str 1\n...\n---\n- "q\\tuoted"\n- \'single\'\n',
  '? [complex, key]\n: value\n? simple\n: other\n"a/b": 1\n"c~d": 2\n"": empty key\nnull: 3\n',
  'list:\n- - nested\n  - deeper: [1, 2, [3]]\n- {flow: map, with: [seq]}\nempty:\nanchored: &x\n  inner: value\nalias: *x\n',
  '# only a comment\n---\n---\nplain\n---\n- a\n- b\n',
  'apiVersion: berth/v1\nkind: App\nmetadata:\n  name: web\nspec:\n  tag: v1\n  ports:\n    - container: 80\n      host: 8080\n  domains: [a.example.com]\n',
  '\uFEFFkey: after a byte-order mark\r\nnext: crlf\r\n',
];

/** Every JSON pointer into `value`, and some that name nothing. */
function pointersOf(value: unknown, pointer = ''): string[] {
  const here = [pointer, `${pointer}/absent`, `${pointer}/0`, `${pointer}/01`, `${pointer}/-1`];
  if (Array.isArray(value)) return [...here, ...value.flatMap((item, i) => pointersOf(item, childPointer(pointer, i)))];
  if (value !== null && typeof value === 'object') return [...here, ...Object.entries(value).flatMap(([key, item]) => pointersOf(item, childPointer(pointer, key)))];
  return here;
}

/** What the document's map says about `pointer`: key and value offsets, scalar range. */
function lookUp(doc: ParsedDocument, pointer: string) {
  return { key: doc.sourceMap.offset(pointer, 'key'), value: doc.sourceMap.offset(pointer, 'value'), scalar: doc.sourceMap.scalar(pointer) };
}

/**
 * Looks every pointer up in a fresh parse (the first lookups walk the events) and in a parse
 * whose map has answered many lookups already (it has built its tree): both must agree.
 */
function assertWalkAgreesWithTree(text: string): void {
  const documents = parseManifestText(text, 'm.yaml').documents;
  documents.forEach((doc, d) => {
    const warmed = parseManifestText(text, 'm.yaml').documents[d] as ParsedDocument;
    for (let i = 0; i < 20; i++) warmed.sourceMap.offset('/warm-up');
    for (const pointer of pointersOf(doc.value)) {
      const fresh = parseManifestText(text, 'm.yaml').documents[d] as ParsedDocument;
      assert.deepEqual(lookUp(fresh, pointer), lookUp(warmed, pointer), `${JSON.stringify(text)} at ${pointer}`);
    }
  });
}

function roundTrip(text: string): void {
  const events = parseEvents(text, {});
  const writer = new EventWriter(1);
  const end = writer.write(events);
  assert.deepEqual(decodeEvents(writer.finish(), 0, end), events, JSON.stringify(text));
}

/** Any YAML-representable value, small. */
const anything: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
  ),
})).value;
const anyYaml = fc.tuple(anything, fc.boolean()).map(([value, flow]) => dump(value, { flowLevel: flow ? 1 : -1 }));

describe('source positions', () => {
  it('are the same whether a lookup walks the events or reads the tree built after many lookups', () => {
    for (const text of CORPUS) assertWalkAgreesWithTree(text);
    fc.assert(fc.property(anyYaml, assertWalkAgreesWithTree), { numRuns: 200 });
  });
});

describe('parser events sent between threads', () => {
  it('decode to exactly the events js-yaml made', () => {
    for (const text of CORPUS) roundTrip(text);
    fc.assert(fc.property(anyYaml, roundTrip), { numRuns: 200 });
  });

  it('decode per file from a buffer shared by a chunk of files', () => {
    const writer = new EventWriter(1);
    const ends = CORPUS.map((text) => writer.write(parseEvents(text, {})));
    const encoded = writer.finish();
    CORPUS.forEach((text, i) => assert.deepEqual(decodeEvents(encoded, i === 0 ? 0 : (ends[i - 1] as number), ends[i] as number), parseEvents(text, {})));
  });

  it('analyzed on another thread than the one that tokenized give what analyzing in one go gives', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-tokenized-'));
    try {
      const texts = [
        ...CORPUS,
        'apiVersion: berth/v1\nkind: App\nmetadata:\n  name: web\nspec:\n  tag: v1\n  replicas: -1\n',
        'apiVersion: berth/v1\nkind: App\nmetadata:\n  name: api\nspec:\n  tag: [unclosed\n',
        'apiVersion: berth/v1\nkind: App\nmetadata:\n  name: tabbed\nspec:\n\ttag: v1\n',
        'a: &a [*a]\n',
      ];
      await Promise.all(texts.map((text, i) => writeFile(join(dir, `${i}.yaml`), text)));
      const jobs: AnalyzeJob[] = [...texts.keys(), 'missing'].map((i) => ({ file: `m/${i}.yaml`, realPath: join(dir, `${i}.yaml`), formerApps: ['api'] }));
      const options = { namespace: 'berth', allowHostPaths: [] };
      const writer = new EventWriter(1);
      const files = jobs.map((job) => tokenizeFile(job, writer));
      assert.deepEqual(analyzeTokenizedFiles(jobs, files, writer.finish(), options), jobs.map((job) => analyzeFile(job, options)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
