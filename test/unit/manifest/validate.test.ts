import { strict as assert } from 'node:assert';
import { parseManifestText, type ParsedDocument } from '../../../src/manifest/parse.js';
import { validateDocument, type ValidationResult } from '../../../src/manifest/validate.js';
import { formatProblem, type App, type LoadOptions } from '../../../src/manifest/types.js';

const OPTIONS: LoadOptions = { namespace: 'dokku', allowHostPaths: ['/srv/berth', '/data/'] };

function documentOf(text: string): ParsedDocument {
  const { documents, problems } = parseManifestText(text, 'm.yaml');
  assert.deepEqual(problems, []);
  assert.ok(documents[0]);
  return documents[0];
}

/** A manifest for app `web` whose spec starts `tag: v1` on line 6; `specLines` follow from line 7. */
function manifest(...specLines: string[]): string {
  return ['apiVersion: berth/v1', 'kind: App', 'metadata:', '  name: web', 'spec:', '  tag: v1', ...specLines, ''].join(
    '\n',
  );
}

function validate(text: string, options: LoadOptions = OPTIONS): ValidationResult {
  return validateDocument(documentOf(text), 'm.yaml', options);
}

function validApp(text: string, options: LoadOptions = OPTIONS): App {
  const result = validate(text, options);
  assert.ok(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('\n'));
  return result.app;
}

function problemsOf(text: string, options: LoadOptions = OPTIONS): string[] {
  const result = validate(text, options);
  assert.equal(result.ok, false, 'expected the manifest to be refused');
  return result.ok ? [] : result.problems.map(formatProblem);
}

describe('validateDocument', () => {
  describe('normalization', () => {
    it('applies every default to a minimal manifest', () => {
      assert.deepEqual(validApp(manifest()), {
        name: 'web',
        source: { file: 'm.yaml', line: 1, col: 1 },
        claimsAt: { ports: [], domains: [], volumes: [] },
        spec: {
          image: 'dokku/web',
          tag: 'v1',
          env: {},
          envFrom: [],
          secrets: [],
          ports: [],
          volumes: [],
          replicas: 1,
          resources: {},
          checks: { wait: 10, http: [], exec: [] },
          deploy: {
            strategy: 'zero-downtime',
            strategyExplicit: false,
            retireAfter: 60,
            progressDeadline: 600,
            monitor: 60,
          },
          domains: [],
        },
      });
    });

    it('names the default image after the namespace option', () => {
      assert.equal(validApp(manifest(), { namespace: 'acme', allowHostPaths: [] }).spec.image, 'acme/web');
    });

    it('keeps an image that names a registry', () => {
      assert.equal(validApp(manifest('  image: 127.0.0.1:5000/team/web')).spec.image, '127.0.0.1:5000/team/web');
    });

    it('defaults an http check to the first tcp container port', () => {
      const app = validApp(
        manifest(
          '  ports:',
          '    - {container: 53, protocol: udp}',
          '    - container: 8080',
          '    - container: 9090',
          '  checks:',
          '    http: [{path: /}]',
        ),
      );
      assert.deepEqual(app.spec.checks.http, [{ path: '/', port: 8080, attempts: 5, wait: 5, timeout: 5 }]);
      assert.deepEqual(app.spec.ports[0], { container: 53, hostIp: '127.0.0.1', protocol: 'udp' });
    });

    it('records whether the manifest named the deploy strategy itself', () => {
      assert.equal(validApp(manifest('  deploy: {retireAfter: 5}')).spec.deploy.strategyExplicit, false);
      const explicit = validApp(manifest('  deploy: {strategy: zero-downtime}')).spec.deploy;
      assert.deepEqual([explicit.strategy, explicit.strategyExplicit], ['zero-downtime', true]);
    });

    it('takes the source position from the document start', () => {
      const { documents } = parseManifestText(`${manifest()}---\n\n${manifest().replace('web', 'api')}`, 'm.yaml');
      const second = documents[1];
      assert.ok(second);
      const result = validateDocument(second, 'm.yaml', OPTIONS);
      assert.ok(result.ok);
      assert.deepEqual(result.app.source, { file: 'm.yaml', line: 9, col: 1 });
    });
  });

  describe('schema messages', () => {
    const cases: Array<[string, string, string[]]> = [
      [
        'an unknown field, at its key, with a suggestion',
        manifest('  replica: 2'),
        ['m.yaml:7:3: spec.replica: unknown field (did you mean "replicas"?)'],
      ],
      ['an unknown top-level field', `${manifest()}status: {}\n`, ['m.yaml:7:1: status: unknown field']],
      [
        'a missing field, at the parent key',
        manifest().replace('  tag: v1\n', '  image: x/y\n'),
        ['m.yaml:5:1: spec: missing required field "tag"'],
      ],
      [
        'a missing section at the document start',
        'apiVersion: berth/v1\nkind: App\nmetadata: {name: web}\n',
        ['m.yaml:1:1: document: missing required field "spec"'],
      ],
      [
        'a fractional port, once',
        manifest('  ports:', '    - {container: 80, host: 0.5}'),
        ['m.yaml:8:29: spec.ports[0].host: must be an integer from 1 to 65535'],
      ],
      [
        'a quoted port',
        manifest('  ports:', '    - {container: "80"}'),
        ['m.yaml:8:19: spec.ports[0].container: must be an integer from 1 to 65535, not a string'],
      ],
      [
        'an unknown protocol',
        manifest('  ports: [{container: 80, protocol: sctp}]'),
        ['m.yaml:7:37: spec.ports[0].protocol: must be "tcp" or "udp", not "sctp"'],
      ],
      [
        'a bad environment variable name, at the key',
        manifest('  env:', '    MY-VAR: x'),
        [
          'm.yaml:8:5: spec.env: "MY-VAR" is not a valid environment variable name (letters, digits and \'_\', not starting with a digit)',
        ],
      ],
      [
        'a boolean environment value, never shown',
        manifest('  env: {DEBUG: true}'),
        [
          'm.yaml:7:16: spec.env.DEBUG: must be a string; write the value in quotes (a boolean here; env values are never shown)',
        ],
      ],
      [
        'a number as an environment value, never echoed',
        manifest('  env: {PIN: 1234567890}'),
        [
          'm.yaml:7:14: spec.env.PIN: must be a string; write the value in quotes (a number here; env values are never shown)',
        ],
      ],
      [
        'an empty value',
        manifest('  replicas:'),
        ['m.yaml:7:3: spec.replicas: must be an integer of at least 0 (it is empty)'],
      ],
      [
        'a list where a mapping belongs',
        manifest('  env: [A=1]'),
        ['m.yaml:7:8: spec.env: must be a mapping, not a list'],
      ],
      ['an empty command', manifest('  command: []'), ['m.yaml:7:12: spec.command: must not be empty']],
      [
        'an image with a tag',
        manifest('  image: nginx:1.25'),
        [
          `m.yaml:7:10: spec.image: "nginx:1.25" is not a valid image repository (lowercase path components separated by '/', optionally after a registry host[:port]; no tag or digest, those go in spec.tag and spec.digest)`,
        ],
      ],
      [
        'a bad digest',
        manifest('  digest: sha256:ABC'),
        [
          'm.yaml:7:11: spec.digest: "sha256:ABC" is not a valid digest ("sha256:" followed by 64 lowercase hex digits)',
        ],
      ],
      [
        'bad resources',
        manifest('  resources: {memory: 1GB, cpus: 0}'),
        [
          'm.yaml:7:23: spec.resources.memory: "1GB" is not a valid memory size (a number with an optional unit b, k, m or g, such as 256m)',
          'm.yaml:7:34: spec.resources.cpus: must be a number greater than 0',
        ],
      ],
      [
        'a duplicated domain',
        manifest('  domains: [a.example.test, b.example.test, a.example.test]'),
        ['m.yaml:7:45: spec.domains[2]: duplicates spec.domains[0]'],
      ],
      [
        'an upper-case domain',
        manifest('  domains: [Web.example.test]'),
        [
          `m.yaml:7:13: spec.domains[0]: "Web.example.test" is not a valid hostname (lowercase letters, digits, '-' and '.', labels of 1-63 characters)`,
        ],
      ],
      [
        'a relative check path',
        manifest('  ports: [{container: 80}]', '  checks: {http: [{path: health}]}'),
        [
          `m.yaml:8:26: spec.checks.http[0].path: "health" is not a valid check path (a request path starting with '/')`,
        ],
      ],
      [
        'a relative mount target',
        manifest('  volumes: [{source: data, target: data}]'),
        [
          `m.yaml:7:36: spec.volumes[0].target: "data" is not a valid mount target (an absolute path inside the container, starting with '/')`,
        ],
      ],
      [
        'an unknown strategy',
        manifest('  deploy: {strategy: blue-green}'),
        ['m.yaml:7:22: spec.deploy.strategy: must be "zero-downtime" or "recreate", not "blue-green"'],
      ],
      [
        'a negative retireAfter',
        manifest('  deploy: {retireAfter: -1}'),
        ['m.yaml:7:25: spec.deploy.retireAfter: must be an integer from 0 to 3600'],
      ],
      [
        'a document that is not a mapping',
        '- apiVersion: berth/v1\n',
        ['m.yaml:1:1: document: must be a mapping, not a list'],
      ],
      [
        'another kind of document, by its identity only',
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: b}\n',
        ['m.yaml:1:13: apiVersion: must be "berth/v1", not "v1"', 'm.yaml:2:7: kind: must be "App", not "ConfigMap"'],
      ],
      [
        'several mistakes, in source order',
        manifest('  replicas: -1', '  privileged: true').replace('tag: v1', 'tag: v1;x'),
        [
          `m.yaml:6:8: spec.tag: "v1;x" is not a valid image tag (letters, digits, '_', '.' and '-', up to 128 characters, not starting with '.' or '-')`,
          'm.yaml:7:13: spec.replicas: must be an integer of at least 0',
          'm.yaml:8:3: spec.privileged: unknown field',
        ],
      ],
    ];
    for (const [name, text, expected] of cases) {
      it(`reports ${name}`, () => {
        assert.deepEqual(problemsOf(text), expected);
      });
    }
  });

  describe('rules beyond the schema', () => {
    const cases: Array<[string, string, string[]]> = [
      [
        'a host path outside every allowed prefix',
        manifest('  volumes: [{source: /etc, target: /x}]'),
        [
          'm.yaml:7:22: spec.volumes[0].source: host path "/etc" is not under an --allow-host-path prefix (given: /srv/berth, /data/)',
        ],
      ],
      [
        'a host path that climbs out of its prefix',
        manifest('  volumes: [{source: /srv/berth/../secrets, target: /x}]'),
        [
          'm.yaml:7:22: spec.volumes[0].source: host path "/srv/berth/../secrets" (/srv/secrets) is not under an --allow-host-path prefix (given: /srv/berth, /data/)',
        ],
      ],
      [
        'a host path that only shares a name prefix',
        manifest('  volumes: [{source: /srv/berthday, target: /x}]'),
        [
          'm.yaml:7:22: spec.volumes[0].source: host path "/srv/berthday" is not under an --allow-host-path prefix (given: /srv/berth, /data/)',
        ],
      ],
      [
        'a relative path as volume source',
        manifest('  volumes: [{source: ./data, target: /x}]'),
        [
          `m.yaml:7:22: spec.volumes[0].source: "./data" is neither an absolute host path nor a valid volume name (letters, digits, '_', '.' and '-', at least 2 characters, starting with a letter or digit)`,
        ],
      ],
      [
        'two mounts on one target',
        manifest('  volumes:', '    - {source: a1, target: /data}', '    - {source: b1, target: /data/}'),
        ['m.yaml:9:28: spec.volumes[1].target: "/data/" is already mounted by spec.volumes[0]'],
      ],
      [
        'a fixed host port with several replicas',
        manifest('  replicas: 2', '  ports: [{container: 80, host: 8080}]'),
        [
          'm.yaml:8:33: spec.ports[0].host: a fixed host port cannot be used with replicas: 2 (two containers cannot bind one host port); remove host or set replicas to 1',
        ],
      ],
      [
        'one host port published twice',
        manifest('  ports:', '    - {container: 80, host: 8080}', '    - {container: 81, host: 8080}'),
        ['m.yaml:9:29: spec.ports[1].host: host port 8080/tcp on 127.0.0.1 is already published by spec.ports[0]'],
      ],
      [
        'a host port also claimed by the wildcard address',
        manifest(
          '  ports:',
          '    - {container: 80, host: 8080, hostIp: 127.0.0.1}',
          '    - {container: 81, host: 8080, hostIp: 0.0.0.0}',
        ),
        ['m.yaml:9:29: spec.ports[1].host: host port 8080/tcp on 0.0.0.0 is already published by spec.ports[0]'],
      ],
      [
        'one container port declared twice',
        manifest('  ports:', '    - {container: 80}', '    - {container: 80, host: 8080}'),
        ['m.yaml:9:19: spec.ports[1].container: container port 80/tcp is already declared by spec.ports[0]'],
      ],
      [
        'an http check on an undeclared port',
        manifest('  ports: [{container: 80}]', '  checks:', '    http:', '      - {path: /, port: 81}'),
        ['m.yaml:10:25: spec.checks.http[0].port: 81 is not a declared tcp container port (declared: 80)'],
      ],
      [
        'an http check on a udp port',
        manifest('  ports: [{container: 53, protocol: udp}]', '  checks: {http: [{path: /, port: 53}]}'),
        ['m.yaml:8:35: spec.checks.http[0].port: 53 is not a declared tcp container port (none is declared)'],
      ],
      [
        'an http check without any port to use',
        manifest('  checks:', '    http:', '      - path: /health'),
        [
          'm.yaml:9:9: spec.checks.http[0]: an http check needs a port, and spec.ports declares no tcp container port to default to',
        ],
      ],
    ];
    for (const [name, text, expected] of cases) {
      it(`refuses ${name}`, () => {
        assert.deepEqual(problemsOf(text), expected);
      });
    }

    it('allows host paths under a prefix, and the prefix itself', () => {
      const app = validApp(
        manifest(
          '  volumes:',
          '    - {source: /srv/berth, target: /a}',
          '    - {source: /data/web/./cache, target: /b}',
          '    - {source: app.data, target: /c}',
        ),
      );
      assert.deepEqual(
        app.spec.volumes.map((v) => v.source),
        ['/srv/berth', '/data/web/./cache', 'app.data'],
      );
    });

    it('refuses every host path when no prefix is allowed', () => {
      assert.deepEqual(
        problemsOf(manifest('  volumes: [{source: /srv/berth, target: /x}]'), {
          namespace: 'dokku',
          allowHostPaths: [],
        }),
        [
          'm.yaml:7:22: spec.volumes[0].source: host path "/srv/berth" is not under an --allow-host-path prefix (none is given)',
        ],
      );
    });

    it('allows one host port on separate addresses or protocols, and ephemeral ports with replicas', () => {
      const app = validApp(
        manifest(
          '  ports:',
          '    - {container: 80, host: 8080, hostIp: 127.0.0.1}',
          '    - {container: 81, host: 8080, hostIp: "::1"}',
          '    - {container: 80, host: 8080, protocol: udp}',
        ),
      );
      assert.equal(app.spec.ports.length, 3);
      assert.equal(validApp(manifest('  replicas: 3', '  ports: [{container: 80}]')).spec.replicas, 3);
    });
  });

  describe('attribution', () => {
    it('names the app on every problem when the name is valid', () => {
      const result = validate(manifest('  replicas: -1', '  bogus: 1'));
      assert.ok(!result.ok);
      assert.equal(result.app, 'web');
      assert.deepEqual(
        result.problems.map((p) => p.app),
        ['web', 'web'],
      );
    });

    it('names no app when the name itself is invalid', () => {
      const result = validate(manifest('  bogus: 1').replace('name: web', 'name: Web'));
      assert.ok(!result.ok);
      assert.equal(result.app, undefined);
      assert.deepEqual(
        result.problems.map((p) => p.app),
        [undefined, undefined],
      );
    });
  });
});
