import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setSpecTag } from '../../../src/manifest/edit.js';
import { ManifestEditError } from '../../../src/manifest/errors.js';
import { TAG_PATTERN } from '../../../src/manifest/tag.js';

const FILE = 'manifests/web.yaml';

describe('setSpecTag (tags:deploy edits in place)', () => {
  it('changes only the tag: comments, order, blank lines and other values stay byte for byte', () => {
    const text = [
      '# production web tier, owned by team-a',
      'apiVersion: berth/v1',
      'kind: App',
      'metadata:',
      '  name: web   # the public site',
      'spec:',
      '  tag: v1     # bumped by CI',
      '',
      '  env:',
      '    RELEASE: v1   # not the tag, must not change',
      '',
    ].join('\n');
    const edited = setSpecTag(text, FILE, 'web', 'v2');
    assert.equal(edited, text.replace('tag: v1 ', 'tag: v2 '));
  });

  it('keeps the quoting the author chose', () => {
    const single = "metadata: {name: web}\nspec:\n  tag: 'v1'\n";
    const double = 'metadata: {name: web}\nspec:\n  tag: "v1"\n';
    assert.equal(setSpecTag(single, FILE, 'web', 'v2'), "metadata: {name: web}\nspec:\n  tag: 'v2'\n");
    assert.equal(setSpecTag(double, FILE, 'web', 'v2'), 'metadata: {name: web}\nspec:\n  tag: "v2"\n');
  });

  it('quotes a plain tag that YAML would read as a number or a boolean', () => {
    const text = 'metadata: {name: web}\nspec:\n  tag: v1\n';
    assert.equal(setSpecTag(text, FILE, 'web', '1.10'), "metadata: {name: web}\nspec:\n  tag: '1.10'\n");
    assert.equal(setSpecTag(text, FILE, 'web', 'true'), "metadata: {name: web}\nspec:\n  tag: 'true'\n");
    assert.equal(setSpecTag(text, FILE, 'web', '2024.01.05'), 'metadata: {name: web}\nspec:\n  tag: 2024.01.05\n');
  });

  it('edits the document naming the app in a multi-document file, inside flow mappings too', () => {
    const text = 'metadata: {name: api}\nspec: {tag: v1}\n---\nmetadata: {name: web}\nspec: {tag: v1, replicas: 2}\n';
    assert.equal(
      setSpecTag(text, FILE, 'web', 'v7'),
      'metadata: {name: api}\nspec: {tag: v1}\n---\nmetadata: {name: web}\nspec: {tag: v7, replicas: 2}\n',
    );
  });

  it('refuses, naming file and position, what it cannot edit in place', () => {
    const cases: [string, string, RegExp][] = [
      ['metadata: {name: web}\nspec:\n  tag: v1\n', 'v;rm', /not a valid Docker tag/],
      ['metadata: {name: api}\nspec:\n  tag: v1\n', 'v2', /manifests\/web\.yaml: no document names app "web"/],
      [
        'metadata: {name: web}\nx: &t v1\nspec:\n  tag: *t\n',
        'v2',
        /manifests\/web\.yaml:4:8: spec\.tag is not written as a plain or quoted string/,
      ],
      [
        'metadata: {name: web}\nspec:\n  tag: |\n    v1\n',
        'v2',
        /manifests\/web\.yaml:4:5: spec\.tag is a block scalar/,
      ],
      ['metadata: {name: web}\nspec: [\n', 'v2', /manifests\/web\.yaml:\d+:\d+: invalid YAML/],
    ];
    for (const [text, tag, message] of cases) {
      assert.throws(
        () => setSpecTag(text, FILE, 'web', tag),
        (error: unknown) => error instanceof ManifestEditError && message.test(error.message),
        `${JSON.stringify(text)} ${tag}`,
      );
    }
  });
});

describe('TAG_PATTERN', () => {
  it('is the pattern the schema gives spec.tag', () => {
    const schema = JSON.parse(readFileSync(resolve('schemas/app.schema.json'), 'utf8'));
    assert.equal(TAG_PATTERN.source, schema.properties.spec.properties.tag.pattern);
  });
});
