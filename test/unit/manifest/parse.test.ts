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
      const text = ['# leading comment', '---', 'a: 1', '---', '# only a comment', '---', '', '  b: 2', '---', ''].join(
        '\n',
      );
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
      assert.deepEqual(result.problems, [
        { file: 'm.yaml', line: 3, col: 5, message: 'invalid YAML: bad indentation of a mapping entry' },
      ]);
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
        assert.deepEqual(parseManifestText(text, 'm.yaml').problems, [
          { file: 'm.yaml', line, col, message: tabMessage },
        ]);
      });
    }

    it('accepts tabs inside values and after a colon', () => {
      assert.deepEqual(onlyDocument('a: "x\\ty"\nb: |\n  \tindented content\nc:\td\n').value, {
        a: 'x\ty',
        b: '\tindented content\n',
        c: 'd',
      });
    });

    it('blames no legal tab for an unrelated error: not one indenting a comment, nor one in block-scalar text', () => {
      assert.deepEqual(parseManifestText('kind: x\n\t# note\ntag: !!str\n  a: 1', 'm.yaml').problems, [
        { file: 'm.yaml', line: 3, col: 6, message: 'invalid YAML: unknown mapping tag !<tag:yaml.org,2002:str>' },
      ]);
      assert.deepEqual(parseManifestText('a: b\nc: |\n  x\n  \ty\n d: 1', 'm.yaml').problems, [
        { file: 'm.yaml', line: 5, col: 2, message: 'invalid YAML: bad indentation of a mapping entry' },
      ]);
      assert.deepEqual(
        parseManifestText('a: [\n \tb, c: d: e]\n', 'm.yaml').problems,
        [{ file: 'm.yaml', line: 2, col: 10, message: 'invalid YAML: missed comma between flow collection entries' }],
        "a legal tab before a word the error is not about, in a flow list's line",
      );
    });

    it('blames the tab where it is the cause, on the line js-yaml stops at', () => {
      for (const [text, line, col] of [
        ['a:\n  b: 1\n\t# a comment may be indented with a tab\n\tc: 2\n', 4, 1],
        ['a:\n  b: |\n    x\n\t  y\n', 4, 1],
        ['a: [1,\n\t2]\n', 2, 1],
        ['- a\n\tb\n', 2, 1],
      ] as const) {
        assert.deepEqual(
          parseManifestText(text, 'm.yaml').problems,
          [{ file: 'm.yaml', line, col, message: tabMessage }],
          JSON.stringify(text),
        );
      }
    });

    describe("nesting: at most 64 levels of mappings and lists, the document's own the first", () => {
      const depthMessage = 'nesting deeper than 64 levels (mappings and lists inside one another) is not allowed';
      const shapes: Record<string, (levels: number) => string> = {
        'flow lists': (n) => `${'['.repeat(n)}x${']'.repeat(n)}\n`,
        'a mapping of flow lists': (n) => `a: ${'['.repeat(n - 1)}${']'.repeat(n - 1)}\n`,
        'flow mappings': (n) => `${'{a: '.repeat(n)}1${'}'.repeat(n)}\n`,
        'block mappings': (n) => `${Array.from({ length: n }, (_, i) => `${' '.repeat(i)}k:`).join('\n')} 1\n`,
        'block lists': (n) => `${'- '.repeat(n)}x\n`,
        'lists of mappings': (n) =>
          `${Array.from({ length: n / 2 }, (_, i) => `${' '.repeat(i * 2)}- a:`).join('\n')} 1\n`,
      };
      for (const [shape, text] of Object.entries(shapes)) {
        it(`reads 63 and 64 levels of ${shape}, refuses 65 at the 65th`, () => {
          for (const levels of [62, 64]) {
            const parsed = parseManifestText(text(levels), 'm.yaml');
            assert.deepEqual(parsed.problems, [], `${levels} levels`);
            assert.equal(parsed.documents.length, 1);
          }
          if (shape !== 'lists of mappings')
            assert.deepEqual(parseManifestText(text(63), 'm.yaml').problems, [], '63 levels');
          const [problem, ...more] = parseManifestText(
            text(shape === 'lists of mappings' ? 66 : 65),
            'm.yaml',
          ).problems;
          assert.equal(problem?.message, depthMessage);
          assert.equal(more.length, 0);
        });
      }

      it('points at the mapping or list of the 65th level', () => {
        assert.deepEqual(parseManifestText(`a: ${'['.repeat(64)}${']'.repeat(64)}\n`, 'm.yaml').problems, [
          { file: 'm.yaml', line: 1, col: 67, message: depthMessage },
        ]);
        assert.deepEqual(parseManifestText(`${'- '.repeat(65)}x\n`, 'm.yaml').problems, [
          { file: 'm.yaml', line: 1, col: 129, message: depthMessage },
        ]);
      });

      it('refuses far deeper nesting as well, where js-yaml stops reading it', () => {
        for (const text of [
          `a: ${'['.repeat(5000)}${']'.repeat(5000)}\n`,
          `${'- '.repeat(5000)}x\n`,
          `${'[a: '.repeat(5000)}1${']'.repeat(5000)}\n`,
        ]) {
          assert.deepEqual(
            parseManifestText(text, 'm.yaml').problems.map((p) => p.message),
            [depthMessage],
          );
        }
      });
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
    const edited = `${text.slice(0, range.start)}v2${text.slice(range.end)}`;
    assert.equal(edited, 'spec:\n  tag: v2 # pinned\n  image: "dokku/web"\n  ports: [80]\n  command: |\n    run\n');
    assert.deepEqual((onlyDocument(edited).value as { spec: { tag: string } }).spec.tag, 'v2');
  });
});
