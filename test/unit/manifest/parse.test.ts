import { strict as assert } from 'node:assert';
import { parseManifestText, scalarRange, type ParsedDocument } from '../../../src/manifest/parse.js';

function onlyDocument(text: string): ParsedDocument {
  const { documents, problems } = parseManifestText(text, 'm.yaml');
  assert.deepEqual(problems, []);
  assert.equal(documents.length, 1);
  return documents[0] as ParsedDocument;
}

describe('parseManifestText', () => {
  describe('documents', () => {
    it('returns each non-empty document with its index among all documents and its start', () => {
      const text = ['# leading comment', '---', 'a: 1', '---', '# only a comment', '---', '', '  b: 2', '---', ''].join('\n');
      const { documents, problems } = parseManifestText(text, 'm.yaml');
      assert.deepEqual(problems, []);
      assert.deepEqual(
        documents.map((d) => ({ value: d.value, index: d.index, start: d.start })),
        [
          { value: { a: 1 }, index: 0, start: { line: 3, col: 1 } },
          { value: { b: 2 }, index: 2, start: { line: 8, col: 3 } },
        ],
      );
    });

    for (const [name, text] of [
      ['an empty file', ''],
      ['a comment-only file', '# nothing\n# here\n'],
      ['separators only', '---\n---\n'],
      ['an explicit null', '~\n'],
    ] as const) {
      it(`yields no documents and no problems for ${name}`, () => {
        assert.deepEqual(parseManifestText(text, 'm.yaml'), { documents: [], problems: [] });
      });
    }

    it('uses the YAML 1.2 core schema: no timestamps, no yes/no booleans', () => {
      const doc = onlyDocument('date: 2024-01-01\nanswer: yes\nhex: 0x1F\nflag: true\n');
      assert.deepEqual(doc.value, { date: '2024-01-01', answer: 'yes', hex: 31, flag: true });
    });
  });

  describe('locate', () => {
    const text = [
      'apiVersion: berth/v1', // 1
      'metadata:', // 2
      '  name: web', // 3
      'spec:', // 4
      '  tag: "v1"', // 5
      '  ports:', // 6
      '    - container: 5000', // 7
      '      host: 8080', // 8
      '    - {container: 53, protocol: udp}', // 9
      '  image:', // 10
      '  command: |', // 11
      '    run it', // 12
      '  env: {"a/b": x}', // 13
    ].join('\n');
    const doc = onlyDocument(text);

    it('finds a mapping member value and its key', () => {
      assert.deepEqual(doc.locate('/spec/ports/0/host'), { line: 8, col: 13 });
      assert.deepEqual(doc.locate('/spec/ports/0/host', 'key'), { line: 8, col: 7 });
    });

    it('finds a member inside a flow mapping inside a sequence', () => {
      assert.deepEqual(doc.locate('/spec/ports/1/protocol'), { line: 9, col: 33 });
      assert.deepEqual(doc.locate('/spec/ports/1/protocol', 'key'), { line: 9, col: 23 });
    });

    it('points a sequence item at the item itself, also when asked for its key', () => {
      assert.deepEqual(doc.locate('/spec/ports/1'), { line: 9, col: 7 });
      assert.deepEqual(doc.locate('/spec/ports/1', 'key'), { line: 9, col: 7 });
    });

    it('points a quoted scalar at its opening quote', () => {
      assert.deepEqual(doc.locate('/spec/tag'), { line: 5, col: 8 });
    });

    it('points a block scalar at its first content character', () => {
      assert.deepEqual(doc.locate('/spec/command'), { line: 12, col: 5 });
    });

    it('points an empty value at its key', () => {
      assert.deepEqual(doc.locate('/spec/image'), { line: 10, col: 3 });
    });

    it('unescapes JSON pointer segments', () => {
      assert.deepEqual(doc.locate('/spec/env/a~1b', 'key'), { line: 13, col: 9 });
    });

    it('falls back to the nearest ancestor for a node that is not written', () => {
      assert.deepEqual(doc.locate('/spec/ports/0/hostIp'), { line: 7, col: 7 });
      assert.deepEqual(doc.locate('/spec/deploy/strategy'), { line: 5, col: 3 });
      assert.deepEqual(doc.locate('/nothing/here'), { line: 1, col: 1 });
    });

    it('points nodes below an alias at the alias', () => {
      const aliased = onlyDocument('base: &base\n  tag: v1\nspec: *base\n');
      assert.deepEqual(aliased.value, { base: { tag: 'v1' }, spec: { tag: 'v1' } });
      assert.deepEqual(aliased.locate('/spec/tag'), { line: 3, col: 7 });
    });

    it('counts columns after a byte-order mark from the first real character', () => {
      const withBom = onlyDocument('\uFEFFtag: v1\n');
      assert.deepEqual(withBom.locate('/tag', 'key'), { line: 1, col: 1 });
      assert.deepEqual(withBom.locate('/tag'), { line: 1, col: 6 });
    });

    it('handles CRLF line endings', () => {
      const crlf = onlyDocument('a: 1\r\nspec:\r\n  tag: v1\r\n');
      assert.deepEqual(crlf.locate('/spec/tag'), { line: 3, col: 8 });
    });

    it('locates nodes of the second document of a file in file coordinates', () => {
      const { documents } = parseManifestText('a: 1\n---\nb:\n  c: 2\n', 'm.yaml');
      assert.deepEqual(documents[1]?.locate('/b/c'), { line: 4, col: 6 });
    });
  });

  describe('problems', () => {
    it('reports a syntax error once, at its position, without a source snippet', () => {
      const result = parseManifestText('spec:\n  tag: v1\n  command: echo: hi\n', 'm.yaml');
      assert.deepEqual(result, {
        documents: [],
        problems: [{ file: 'm.yaml', line: 3, col: 16, message: 'invalid YAML: bad indentation of a mapping entry' }],
      });
    });

    it('fails the whole file when a later document is not valid YAML', () => {
      const result = parseManifestText('a: 1\n---\nb: c: d\n', 'm.yaml');
      assert.equal(result.documents.length, 0);
      assert.deepEqual(result.problems, [{ file: 'm.yaml', line: 3, col: 5, message: 'invalid YAML: bad indentation of a mapping entry' }]);
    });

    it('reports a duplicated key at the second occurrence', () => {
      assert.deepEqual(parseManifestText('spec:\n  tag: v1\n  tag: v2\n', 'm.yaml').problems, [
        { file: 'm.yaml', line: 3, col: 3, message: 'invalid YAML: duplicated mapping key' },
      ]);
    });

    const tabMessage = 'invalid YAML: tab character used for indentation (indent with spaces)';
    for (const [name, text, line, col] of [
      ['a tab that js-yaml would read as part of a key', 'spec:\n  image: x\n\ttag: v1\n', 3, 1],
      ['a tab after spaces', 'spec:\n  \ttag: v1\n', 2, 3],
      ['a tab before a sequence item', 'spec:\n  - a\n\t- b\n', 3, 1],
      ['a tab in a line js-yaml rejects', 'a:\n  b: 1\n \tc: 2\n', 3, 2],
    ] as const) {
      it(`names tab indentation for ${name}`, () => {
        assert.deepEqual(parseManifestText(text, 'm.yaml').problems, [{ file: 'm.yaml', line, col, message: tabMessage }]);
      });
    }

    it('accepts tabs inside values and after a colon', () => {
      assert.deepEqual(onlyDocument('a: "x\\ty"\nb: |\n  \tindented content\nc:\td\n').value, { a: 'x\ty', b: '\tindented content\n', c: 'd' });
    });

    it('limits nesting depth', () => {
      const deep = `a: ${'['.repeat(70)}${']'.repeat(70)}\n`;
      assert.deepEqual(parseManifestText(deep, 'm.yaml').problems, [
        { file: 'm.yaml', line: 1, col: 67, message: 'nesting deeper than 64 levels is not allowed' },
      ]);
    });

    it('limits the number of aliases', () => {
      const text = `a: &a [1]\nb: [${Array.from({ length: 65 }, () => '*a').join(', ')}]\n`;
      const [problem] = parseManifestText(text, 'm.yaml').problems;
      assert.equal(problem?.message, 'more than 64 aliases (*name) in one document are not allowed');
      assert.equal(problem?.line, 2);
    });
  });
});

describe('scalarRange', () => {
  const text = 'spec:\n  tag: v1 # pinned\n  image: "dokku/web"\n  ports: [80]\n  command: |\n    run\n';
  const doc = onlyDocument(text);

  it('spans a plain scalar', () => {
    const range = scalarRange(doc, '/spec/tag');
    assert.deepEqual(range, { start: 13, end: 15, style: 'plain' });
    assert.equal(text.slice(range?.start, range?.end), 'v1');
  });

  it('spans a quoted scalar without its quotes', () => {
    const range = scalarRange(doc, '/spec/image');
    assert.equal(range?.style, 'double-quoted');
    assert.equal(text.slice(range?.start, range?.end), 'dokku/web');
  });

  it('reports block style so an editor can refuse to splice it', () => {
    assert.equal(scalarRange(doc, '/spec/command')?.style, 'literal');
  });

  it('is undefined for collections and absent nodes', () => {
    assert.equal(scalarRange(doc, '/spec/ports'), undefined);
    assert.equal(scalarRange(doc, '/spec/digest'), undefined);
  });

  it('allows replacing a value in place, keeping comments', () => {
    const range = scalarRange(doc, '/spec/tag');
    assert.ok(range);
    const edited = text.slice(0, range.start) + 'v2' + text.slice(range.end);
    assert.equal(edited, 'spec:\n  tag: v2 # pinned\n  image: "dokku/web"\n  ports: [80]\n  command: |\n    run\n');
    assert.deepEqual((onlyDocument(edited).value as { spec: { tag: string } }).spec.tag, 'v2');
  });
});
