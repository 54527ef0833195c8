import { strict as assert } from 'node:assert';
import path from 'node:path';
import fc from 'fast-check';
import { dump } from 'js-yaml';
import { analyzeManifestText } from '../../../src/manifest/read/analyze.js';
import { parseManifestText } from '../../../src/manifest/parse.js';
import { TAG_PATTERN } from '../../../src/manifest/tag.js';
import { formatProblem, type LoadOptions, type ManifestProblem } from '../../../src/manifest/types.js';
import { validateDocument } from '../../../src/manifest/validate.js';
import { anything } from '../../support/yaml-corpus.js';

/**
 * Whatever text a manifest file holds, parsing and validating it returns problems or apps and
 * never throws (berth defines no error type for bad manifests: they are data, not exceptions).
 * Every problem points into the file with a one-line message, and every app that validates is
 * complete and mounts no host path outside --allow-host-path.
 */

const FILE = 'apps/m.yaml';
const OPTIONS: LoadOptions = { namespace: 'dokku', allowHostPaths: ['/srv/berth'] };
const APP_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Anything that would split a problem line or hide in a terminal. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Checks everything analysing `text` must guarantee; throws (failing the property) otherwise. */
function assertWellBehaved(text: string): void {
  const analysis = analyzeManifestText(text, FILE, OPTIONS);
  const lineCount = text.split(/\r\n|\r|\n/).length; // js-yaml counts a lone CR as a line break too
  const problems: ManifestProblem[] = [
    ...analysis.problems,
    ...analysis.documents.flatMap((d) => (d.result.ok ? [] : d.result.problems)),
  ];
  for (const problem of problems) {
    assert.equal(problem.file, FILE);
    assert.ok(
      Number.isInteger(problem.line) && problem.line >= 1 && problem.line <= lineCount,
      `line ${problem.line} of ${lineCount}`,
    );
    assert.ok(Number.isInteger(problem.col) && problem.col >= 1, `col ${problem.col}`);
    assert.ok(problem.message.length > 0);
    assert.ok(!UNPRINTABLE.test(problem.message), `one printable line: ${JSON.stringify(problem.message)}`);
    assert.ok(!UNPRINTABLE.test(formatProblem(problem)));
  }
  for (const { result } of analysis.documents) {
    if (!result.ok) {
      assert.ok(result.problems.length > 0, 'an invalid document says why');
      continue;
    }
    const { app } = result;
    assert.match(app.name, APP_NAME);
    assert.match(app.spec.tag, TAG_PATTERN);
    assert.equal(typeof app.spec.image, 'string');
    assert.ok(Number.isInteger(app.spec.replicas) && app.spec.replicas >= 0);
    assert.equal(app.source.file, FILE);
    for (const value of Object.values(app.spec.env)) assert.equal(typeof value, 'string');
    for (const port of app.spec.ports)
      assert.ok(Number.isInteger(port.container) && port.container >= 1 && port.container <= 65535);
    for (const volume of app.spec.volumes) {
      if (volume.source.startsWith('/')) {
        const resolved = path.posix.normalize(volume.source);
        assert.ok(
          resolved === '/srv/berth' || resolved.startsWith('/srv/berth/'),
          `host path ${volume.source} is allowed`,
        );
      }
    }
  }
}

/** The right kind of value (from `right`) most of the time, anything else otherwise. */
const mostly = <T>(right: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 3, arbitrary: right }, { weight: 1, arbitrary: anything });

const optionalRecord = <T extends Record<string, fc.Arbitrary<unknown>>>(fields: T) =>
  fc.record(fields, { requiredKeys: [] });

const hostPaths = fc.constantFrom(
  '/srv/berth/data',
  '/srv/berth',
  '/srv/berth/../../etc',
  '/srv/berthx',
  '/',
  '/etc',
  '/var/run/docker.sock',
  '//srv/berth/x',
  '/srv/berth/./x',
);
const appNames = fc.oneof(
  fc.stringMatching(APP_NAME),
  fc.constantFrom('Web', '..', 'a/b', 'a'.repeat(64), '-web', 'web-'),
);
const tags = fc.oneof(
  fc.stringMatching(TAG_PATTERN),
  fc.constantFrom('v1;rm -rf /', 'v1 latest', '.hidden', '1.10', ''),
);
const ports = fc.integer({ min: -1, max: 70_000 });

/** Documents shaped like App manifests, with wrong types, bad values and unknown fields mixed in. */
const appDocument = fc.record(
  {
    apiVersion: mostly(fc.constantFrom('berth/v1', 'v1')),
    kind: mostly(fc.constantFrom('App', 'ConfigMap')),
    metadata: mostly(optionalRecord({ name: mostly(appNames), labels: anything })),
    spec: mostly(
      optionalRecord({
        image: mostly(
          fc.constantFrom('dokku/web', 'ghcr.io/team/web', '127.0.0.1:5000/web', 'Web:latest', 'web@sha256:00'),
        ),
        tag: mostly(tags),
        digest: mostly(fc.constantFrom(`sha256:${'0'.repeat(64)}`, 'sha256:xyz')),
        command: mostly(fc.array(fc.string(), { maxLength: 3 })),
        env: mostly(
          fc.dictionary(fc.oneof(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]*$/), fc.string()), mostly(fc.string()), {
            maxKeys: 3,
          }),
        ),
        ports: mostly(
          fc.array(
            mostly(
              optionalRecord({
                container: mostly(ports),
                host: mostly(ports),
                hostIp: mostly(fc.constantFrom('127.0.0.1', '0.0.0.0', '::', '::1', '10.0.0.256')),
                protocol: mostly(fc.constantFrom('tcp', 'udp', 'sctp')),
              }),
            ),
            { maxLength: 3 },
          ),
        ),
        volumes: mostly(
          fc.array(
            mostly(
              optionalRecord({
                source: mostly(fc.oneof(hostPaths, fc.constantFrom('app-data', 'x', '../data'))),
                target: mostly(fc.constantFrom('/data', '/', 'data', '/data/')),
                readOnly: mostly(fc.boolean()),
              }),
            ),
            { maxLength: 3 },
          ),
        ),
        replicas: mostly(fc.integer({ min: -2, max: 5 })),
        resources: mostly(
          optionalRecord({
            memory: mostly(fc.constantFrom('256m', '1g', 'lots')),
            cpus: mostly(fc.double({ min: -1, max: 4 })),
          }),
        ),
        checks: mostly(
          optionalRecord({
            wait: mostly(fc.integer({ min: -1, max: 100 })),
            http: mostly(
              fc.array(
                mostly(optionalRecord({ path: mostly(fc.constantFrom('/health', 'health')), port: mostly(ports) })),
                { maxLength: 2 },
              ),
            ),
          }),
        ),
        deploy: mostly(optionalRecord({ strategy: mostly(fc.constantFrom('zero-downtime', 'recreate', 'yolo')) })),
        domains: mostly(fc.array(fc.constantFrom('a.example.test', 'A..b', 'a.example.test'), { maxLength: 3 })),
        privileged: fc.boolean(),
      }),
    ),
  },
  { requiredKeys: ['apiVersion', 'kind', 'metadata', 'spec'] },
);

/** Pieces of YAML syntax, so that random text reaches deep into the parser rather than failing at once. */
const yamlSoup = fc
  .array(
    fc.constantFrom(
      'apiVersion: berth/v1\n',
      'kind: App\n',
      'metadata:\n',
      '  name: web\n',
      'spec:\n',
      '  tag: v1\n',
      '  ports:\n',
      '    - ',
      'container: 80\n',
      '  volumes: [{source: /etc, target: /x}]\n',
      '---\n',
      '...\n',
      '%YAML 1.2\n',
      '- ',
      '? ',
      ': ',
      '[',
      ']',
      '{',
      '}',
      ',',
      '&a ',
      '*a',
      '*b',
      '&b ',
      '!!str ',
      '!!map ',
      '!<x%0Ay> ',
      '!custom ',
      '<<: ',
      '"',
      "'",
      '\\',
      '# c\n',
      '|\n',
      '>-\n',
      '\t',
      '  ',
      '\n',
      '\r\n',
      '\u2028',
      '\u0085',
      '\uFEFF',
      '~',
      'null',
      '.nan',
      '-.inf',
      '0x1F',
      '1e400',
      'é',
      '😀',
      '\u0000',
      'a',
      '1',
    ),
    { maxLength: 40 },
  )
  .map((pieces) => pieces.join(''));

describe('manifest analysis of arbitrary input (property)', () => {
  it('never throws and reports well-formed problems for App-shaped documents', () => {
    fc.assert(
      fc.property(fc.array(appDocument, { minLength: 1, maxLength: 3 }), fc.boolean(), (documents, flow) => {
        const text = documents.map((doc) => dump(doc, { flowLevel: flow ? 1 : -1 })).join('---\n');
        assertWellBehaved(text);
      }),
      { numRuns: 150 },
    );
  });

  it('never throws for fragments of YAML syntax', () => {
    fc.assert(
      fc.property(yamlSoup, (text) => assertWellBehaved(text)),
      { numRuns: 300 },
    );
  });

  it('never throws for arbitrary strings and for bytes read as UTF-8 or Latin-1', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('utf8')),
          fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
        ),
        (text) => assertWellBehaved(text),
      ),
      { numRuns: 200 },
    );
  });

  it('attributes every problem of a document to the app it names, when the name is valid (parse and validate directly)', () => {
    fc.assert(
      fc.property(appDocument, (doc) => {
        const metadata = doc.metadata;
        const name =
          metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata)
            ? (metadata as { name?: unknown }).name
            : undefined;
        const named = typeof name === 'string' && APP_NAME.test(name) ? name : undefined;
        const { documents, problems } = parseManifestText(dump(doc), FILE);
        assert.deepEqual(problems, [], 'js-yaml output is always accepted');
        assert.equal(documents.length, 1);
        const result = validateDocument(documents[0]!, FILE, OPTIONS);
        if (result.ok) assert.equal(result.app.name, named);
        else for (const problem of result.problems) assert.equal(problem.app, named);
      }),
      { numRuns: 100 },
    );
  });
});
