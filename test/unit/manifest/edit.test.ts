import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setSpecImage, setSpecTag } from '../../../src/manifest/edit.js';
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

const OLD_DIGEST = `sha256:${'a'.repeat(64)}`;
const NEW_DIGEST = `sha256:${'b'.repeat(64)}`;

describe('setSpecImage (an image policy writes the tag, and the digest a manifest pins)', () => {
  it('sets the tag and the pinned digest, and nothing else: comments, quoting and layout stay', () => {
    const text = [
      '# web, followed by an image policy',
      'metadata: {name: web}',
      'spec:',
      '  image: registry.example.test/team/web',
      `  digest: "${OLD_DIGEST}"   # pinned by review`,
      '  tag: 1.1.0     # berth moves this',
      '  imagePolicy: {semver: ^1}',
      '',
    ].join('\n');
    const edited = setSpecImage(text, FILE, 'web', { tag: '1.1.1', digest: NEW_DIGEST });
    assert.equal(edited, text.replace(OLD_DIGEST, NEW_DIGEST).replace('tag: 1.1.0 ', 'tag: 1.1.1 '));
  });

  it('edits a digest written before or after the tag, plain or in a flow mapping', () => {
    const after = `metadata: {name: web}\nspec:\n  tag: v1\n  digest: ${OLD_DIGEST}\n`;
    assert.equal(
      setSpecImage(after, FILE, 'web', { tag: 'v2', digest: NEW_DIGEST }),
      `metadata: {name: web}\nspec:\n  tag: v2\n  digest: ${NEW_DIGEST}\n`,
    );
    const flow = `metadata: {name: web}\nspec: {digest: '${OLD_DIGEST}', tag: v1}\n`;
    assert.equal(
      setSpecImage(flow, FILE, 'web', { tag: 'v20', digest: NEW_DIGEST }),
      `metadata: {name: web}\nspec: {digest: '${NEW_DIGEST}', tag: v20}\n`,
    );
  });

  it('does not add a digest to a manifest that pins none', () => {
    const text = 'metadata: {name: web}\nspec:\n  tag: 1.1.0\n';
    assert.equal(
      setSpecImage(text, FILE, 'web', { tag: '1.1.1', digest: NEW_DIGEST }),
      'metadata: {name: web}\nspec:\n  tag: 1.1.1\n',
    );
  });

  it('refuses to leave a pinned digest stale, or to write what is not a digest, naming the file', () => {
    const text = `metadata: {name: web}\nspec:\n  tag: 1.1.0\n  digest: ${OLD_DIGEST}\n`;
    assert.throws(
      () => setSpecImage(text, FILE, 'web', { tag: '1.1.1' }),
      (error: unknown) =>
        error instanceof ManifestEditError &&
        /^manifests\/web\.yaml:4:11: spec\.digest pins "sha256:a{64}"; a new tag needs its digest/.test(
          error.message,
        ) &&
        !error.message.includes('\n'),
    );
    for (const digest of ['sha256:abc', `sha256:${'a'.repeat(64)}\nx`, `md5:${'a'.repeat(64)}`]) {
      assert.throws(
        () => setSpecImage(text, FILE, 'web', { tag: '1.1.1', digest }),
        (error: unknown) =>
          error instanceof ManifestEditError && /is not a digest/.test(error.message) && !error.message.includes('\n'),
        digest,
      );
    }
    const block = `metadata: {name: web}\nspec:\n  tag: v1\n  digest: |\n    ${OLD_DIGEST}\n`;
    assert.throws(
      () => setSpecImage(block, FILE, 'web', { tag: 'v2', digest: NEW_DIGEST }),
      /manifests\/web\.yaml:5:5: spec\.digest is a block scalar/,
    );
  });

  it('setSpecTag still leaves a pinned digest as it is (tags:deploy checked the pin)', () => {
    const text = `metadata: {name: web}\nspec:\n  tag: v1\n  digest: ${OLD_DIGEST}\n`;
    assert.equal(setSpecTag(text, FILE, 'web', 'v2'), text.replace('tag: v1', 'tag: v2'));
  });
});

describe('TAG_PATTERN', () => {
  it('is the pattern the schema gives spec.tag', () => {
    const schema = JSON.parse(readFileSync(resolve('schemas/app.schema.json'), 'utf8'));
    assert.equal(TAG_PATTERN.source, schema.properties.spec.properties.tag.pattern);
  });
});
