import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { childPointer } from '../../../src/manifest/source-map.js';
import { parseManifestText, type ParsedDocument } from '../../../src/manifest/parse.js';
import { CORPUS, anyYaml } from '../../support/yaml-corpus.js';

/** Every JSON pointer into `value`, and some that name nothing. */
function pointersOf(value: unknown, pointer = ''): string[] {
  const here = [pointer, `${pointer}/absent`, `${pointer}/0`, `${pointer}/01`, `${pointer}/-1`];
  if (Array.isArray(value)) return [...here, ...value.flatMap((item, i) => pointersOf(item, childPointer(pointer, i)))];
  if (value !== null && typeof value === 'object')
    return [...here, ...Object.entries(value).flatMap(([key, item]) => pointersOf(item, childPointer(pointer, key)))];
  return here;
}

/** What the document's map says about `pointer`: key and value offsets, scalar range. */
function lookUp(doc: ParsedDocument, pointer: string) {
  return {
    key: doc.sourceMap.offset(pointer, 'key'),
    value: doc.sourceMap.offset(pointer, 'value'),
    scalar: doc.sourceMap.scalar(pointer),
  };
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

describe('source positions', () => {
  it('are the same whether a lookup walks the events or reads the tree built after many lookups', () => {
    for (const text of CORPUS) assertWalkAgreesWithTree(text);
    fc.assert(fc.property(anyYaml, assertWalkAgreesWithTree), { numRuns: 200 });
  });
});
