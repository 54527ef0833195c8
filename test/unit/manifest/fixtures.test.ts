import { strict as assert } from 'node:assert';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ManifestDirectory, loadPaths } from '../../../src/manifest/read/load.js';
import { formatProblem, type App, type AppSpec, type LoadOptions } from '../../../src/manifest/types.js';

const FIXTURES = path.resolve('test/fixtures/manifests');
const OPTIONS: LoadOptions = { namespace: 'dokku', allowHostPaths: ['/srv/berth'] };

/** Every file in bad/ and exactly what `berth validate` must print for it (after `<file>:`). */
const BAD_FILES: Record<string, string[]> = {
  'syntax-error.yaml': ['8:16: invalid YAML: bad indentation of a mapping entry'],
  'tab-indentation.yaml': ['8:1: invalid YAML: tab character used for indentation (indent with spaces)'],
  'unknown-field-deep.yaml': ['12:9: spec.checks.http[0].method: unknown field'],
  'wrong-type.yaml': [
    '6:8: spec.tag: must be a string; write it in quotes: "1.10"',
    '7:13: spec.replicas: must be an integer of at least 0, not a string',
    '9:11: spec.env.PORT: must be a string; write the value in quotes (a number here; env values are never shown)',
  ],
  'missing-required.yaml': ['5:1: spec: missing required field "tag"'],
  'bad-name.yaml': [
    `4:9: metadata.name: "Web_1" is not a valid app name (lowercase letters, digits and '-', 1-63 characters, starting and ending with a letter or digit)`,
  ],
  'bad-tag.yaml': [
    `6:8: spec.tag: "v1;rm -rf /" is not a valid image tag (letters, digits, '_', '.' and '-', up to 128 characters, not starting with '.' or '-')`,
  ],
  'bad-port.yaml': ['9:13: spec.ports[0].host: must be an integer from 1 to 65535'],
  'host-path-not-allowed.yaml': [
    '8:15: spec.volumes[0].source: host path "/srv/berth/../../etc" (/etc) is not under an --allow-host-path prefix (given: /srv/berth)',
  ],
  'multi-doc-one-bad.yaml': ['15:3: spec.privileged: unknown field'],
  'fixed-port-replicas.yaml': [
    '10:13: spec.ports[0].host: a fixed host port cannot be used with replicas: 3 (two containers cannot bind one host port); remove host or set replicas to 1',
  ],
  'wrong-kind.yaml': ['1:13: apiVersion: must be "berth/v1", not "v1"', '2:7: kind: must be "App", not "ConfigMap"'],
};

describe('manifest fixtures', () => {
  describe('bad files', () => {
    it('has an expectation for every fixture in bad/', () => {
      assert.deepEqual(readdirSync(path.join(FIXTURES, 'bad')).sort(), Object.keys(BAD_FILES).sort());
    });

    for (const [name, expected] of Object.entries(BAD_FILES)) {
      it(`reports ${name} exactly`, async () => {
        const file = path.join(FIXTURES, 'bad', name);
        const set = await loadPaths([file], OPTIONS);
        assert.deepEqual(
          set.problems.map(formatProblem),
          expected.map((line) => `${file}:${line}`),
        );
        assert.equal(set.directory, 'ok');
        assert.equal(set.fileCount, 1);
      });
    }

    it('keeps the valid documents of a file with one bad document, and marks the bad one invalid', async () => {
      const set = await loadPaths([path.join(FIXTURES, 'bad', 'multi-doc-one-bad.yaml')], OPTIONS);
      assert.deepEqual([...set.apps.keys()], ['first', 'third']);
      assert.deepEqual([...set.invalid], ['second']);
      assert.deepEqual(
        set.problems.map((p) => p.app),
        ['second'],
      );
    });

    it('reports the app a file that is not valid YAML appears to define as invalid, leaving the problem unattributed', async () => {
      const set = await loadPaths([path.join(FIXTURES, 'bad', 'syntax-error.yaml')], OPTIONS);
      assert.deepEqual([set.apps.size, [...set.invalid], set.problems[0]?.app], [0, ['syntax'], undefined]);
    });
  });

  describe('good files', () => {
    it('loads every document of a multi-document file with all defaults applied', async () => {
      const file = path.join(FIXTURES, 'good', 'multi-doc.yaml');
      const set = await loadPaths([file], OPTIONS);
      assert.deepEqual(set.problems, []);
      const defaults: Pick<
        AppSpec,
        'env' | 'envFrom' | 'secrets' | 'volumes' | 'replicas' | 'resources' | 'deploy' | 'domains'
      > = {
        env: {},
        envFrom: [],
        secrets: [],
        volumes: [],
        replicas: 1,
        resources: {},
        deploy: {
          strategy: 'zero-downtime',
          strategyExplicit: false,
          retireAfter: 60,
          progressDeadline: 600,
          monitor: 60,
        },
        domains: [],
      };
      const expected: App[] = [
        {
          name: 'web',
          source: { file, line: 4, col: 1 },
          claimsAt: { ports: [], domains: [], volumes: [] },
          spec: { image: 'dokku/web', tag: 'v12', ports: [], checks: { wait: 10, http: [], exec: [] }, ...defaults },
        },
        {
          name: 'worker',
          source: { file, line: 13, col: 1 },
          // Where each port's host binding would be claimed (these two publish ephemeral ports: their entries).
          claimsAt: {
            ports: [
              { file, line: 20, col: 7 },
              { file, line: 22, col: 7 },
            ],
            domains: [],
            volumes: [],
          },
          spec: {
            image: 'dokku/worker',
            tag: '2024.06',
            ports: [
              { container: 53, hostIp: '127.0.0.1', protocol: 'udp' },
              { container: 8080, hostIp: '127.0.0.1', protocol: 'tcp' },
            ],
            checks: { wait: 10, http: [{ path: '/ready', port: 8080, attempts: 5, wait: 5, timeout: 5 }], exec: [] },
            ...defaults,
          },
        },
      ];
      assert.deepEqual([...set.apps.values()], expected);
    });

    it('loads a manifest that sets every field', async () => {
      const file = path.join(FIXTURES, 'good', 'full.yaml');
      const set = await loadPaths([file], OPTIONS);
      assert.deepEqual(set.problems, []);
      assert.deepEqual(set.apps.get('node-js-app'), {
        name: 'node-js-app',
        source: { file, line: 2, col: 1 },
        claimsAt: {
          ports: [
            { file, line: 16, col: 13 },
            { file, line: 19, col: 7 },
          ],
          domains: [
            { file, line: 51, col: 13 },
            { file, line: 51, col: 39 },
          ],
          volumes: [
            { file, line: 21, col: 15 },
            { file, line: 23, col: 15 },
          ],
        },
        spec: {
          image: '127.0.0.1:5000/team/node-js-app',
          tag: 'v12',
          digest: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
          command: ['node', 'index.js'],
          envFrom: [{ file: path.join(FIXTURES, 'good', 'secrets', 'web.env.age'), at: { file, line: 12, col: 21 } }],
          secrets: [
            {
              file: path.join(FIXTURES, 'good', 'secrets', 'db-password.age'),
              target: '/run/secrets/db_password',
              at: { file, line: 13, col: 21 },
            },
          ],
          env: { NODE_ENV: 'production', PORT: '5000' },
          ports: [
            { container: 5000, host: 8080, hostIp: '0.0.0.0', protocol: 'tcp' },
            { container: 5001, hostIp: '127.0.0.1', protocol: 'tcp' },
          ],
          volumes: [
            { source: 'app-data', target: '/data', readOnly: false },
            { source: '/srv/berth/node-js-app', target: '/config', readOnly: true },
          ],
          replicas: 1,
          resources: { memory: '256m', cpus: 0.5 },
          checks: {
            wait: 3,
            http: [{ path: '/health', content: 'ok', port: 5001, attempts: 2, wait: 1, timeout: 3 }],
            exec: [{ command: ['/app/healthcheck', '--ready'], attempts: 4, wait: 2, timeout: 6 }],
          },
          release: { command: ['./manage.py', 'migrate'], timeout: 300 },
          postDeploy: { command: ['./notify', 'deployed'], timeout: 60 },
          deploy: { strategy: 'recreate', strategyExplicit: true, retireAfter: 0, progressDeadline: 120, monitor: 20 },
          domains: ['node-js-app.example.test', 'www.example.test'],
        },
      });
    });

    it('reads the good directory as one set', async () => {
      const set = await new ManifestDirectory(path.join(FIXTURES, 'good'), OPTIONS).read();
      assert.deepEqual(
        [[...set.apps.keys()].sort(), set.problems, set.fileCount, set.directory],
        [['node-js-app', 'web', 'worker'], [], 2, 'ok'],
      );
    });
  });

  it('finds nothing, and nothing wrong, in an empty file and a comment-only file', async () => {
    const set = await new ManifestDirectory(path.join(FIXTURES, 'empty'), OPTIONS).read();
    assert.deepEqual([set.apps.size, set.problems, set.fileCount, set.directory], [0, [], 2, 'ok']);
  });

  it('reports an app defined in two files once per file, naming the other, and keeps it out of apps', async () => {
    const dir = path.join(FIXTURES, 'duplicate');
    const set = await new ManifestDirectory(dir, OPTIONS).read();
    const a = path.join(dir, 'a.yaml');
    const b = path.join(dir, 'b.yaml');
    assert.deepEqual(set.problems.map(formatProblem), [
      `${a}:4:9: app "web" is also defined in ${b}:5:9`,
      `${b}:5:9: app "web" is also defined in ${a}:4:9`,
    ]);
    assert.deepEqual(
      set.problems.map((p) => p.app),
      ['web', 'web'],
    );
    assert.deepEqual([...set.conflicts], [['web', [a, b]]]);
    assert.deepEqual([...set.apps.keys()], ['other']);
  });

  it('ignores hidden files and directories, editor leftovers and other extensions', async () => {
    const set = await new ManifestDirectory(path.join(FIXTURES, 'ignored'), OPTIONS).read();
    assert.deepEqual([[...set.apps.keys()], set.problems, set.fileCount], [['web'], [], 1]);
  });
});
