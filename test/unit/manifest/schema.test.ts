import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { Ajv } from 'ajv';
import { appValidator } from '../../../src/manifest/schema.js';
import { APP_NAME } from '../../../src/manifest/app-name.js';

interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  pattern?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: boolean | SchemaNode;
}

const schema = JSON.parse(readFileSync(path.resolve('schemas/app.schema.json'), 'utf8')) as SchemaNode;

/** Every schema node below the root with its dotted location. */
function nodes(node: SchemaNode, at = ''): Array<[string, SchemaNode]> {
  const children: Array<[string, SchemaNode]> = [];
  for (const [name, child] of Object.entries(node.properties ?? {})) children.push([`${at}.${name}`, child]);
  if (node.items) children.push([`${at}[]`, node.items]);
  if (typeof node.additionalProperties === 'object') children.push([`${at}.*`, node.additionalProperties]);
  return children.flatMap(([where, child]) => [[where, child] as [string, SchemaNode], ...nodes(child, where)]);
}

function patternAt(...names: string[]): RegExp {
  let node: SchemaNode | undefined = schema;
  for (const name of names) node = name === '[]' ? node?.items : node?.properties?.[name];
  assert.ok(node?.pattern, `no pattern at ${names.join('.')}`);
  return new RegExp(node.pattern, 'u');
}

describe('schemas/app.schema.json', () => {
  it('spells the app-name rule exactly as berth does everywhere else (one pattern, in manifest/app-name.ts)', () => {
    assert.equal(patternAt('metadata', 'name').source, APP_NAME.source);
    for (const good of ['a', 'web', 'a-1', 'x'.repeat(63)]) assert.ok(APP_NAME.test(good), good);
    for (const bad of ['', '-a', 'a-', 'Web', 'a_b', 'x'.repeat(64)]) assert.ok(!APP_NAME.test(bad), bad);
  });

  it('is the schema file as it is now, compiled at build time: the same verdicts, errors and defaults as ajv compiling it in strict mode', () => {
    const fresh = new Ajv({ allErrors: true, strict: true, useDefaults: true, verbose: true }).compile(schema);
    const documents: unknown[] = [
      {
        apiVersion: 'berth/v1',
        kind: 'App',
        metadata: { name: 'web' },
        spec: { tag: 'v1', ports: [{ container: 80 }], checks: { http: [{ path: '/' }] } },
      },
      {
        apiVersion: 'berth/v1',
        kind: 'App',
        metadata: { name: 'Web' },
        spec: { tag: '-x', replicas: -1, env: { '1A': 'x' }, extra: true, domains: ['a.b', 'a.b'] },
      },
      {
        apiVersion: 'berth/v2',
        kind: 'App',
        metadata: {},
        spec: { tag: 'v1', image: 'x'.repeat(300), resources: { memory: '12q', cpus: 0 } },
      },
      'not a mapping',
    ];
    for (const document of documents) {
      const [a, b] = [structuredClone(document), structuredClone(document)];
      const compiled = appValidator();
      assert.equal(compiled(a), fresh(b), JSON.stringify(document));
      const shape = (errors: typeof fresh.errors) =>
        (errors ?? []).map(
          (e) => `${e.instancePath} ${e.keyword} ${JSON.stringify(e.params)} ${JSON.stringify(e.parentSchema)}`,
        );
      assert.deepEqual(shape(compiled.errors), shape(fresh.errors));
      assert.deepEqual(a, b, 'the same defaults filled in');
    }
  });

  it('describes every field, for editors', () => {
    const undescribed = nodes(schema)
      .filter(([, node]) => typeof node.description !== 'string' || node.description.length === 0)
      .map(([where]) => where);
    assert.deepEqual(undescribed, []);
  });

  it('closes every mapping except env, whose values must be strings', () => {
    const open = nodes(schema)
      .filter(([, node]) => node.type === 'object' && node.additionalProperties !== false)
      .map(([where, node]) => [where, node.additionalProperties]);
    assert.deepEqual(open, [
      [
        '.spec.env',
        { type: 'string', description: 'Variable value; a string (quote numbers and booleans). Never logged.' },
      ],
    ]);
    assert.equal(schema.additionalProperties, false);
  });

  it('offers exactly the documented fields: no privileged mode, capabilities, host namespaces or devices', () => {
    assert.deepEqual(
      nodes(schema).map(([where]) => where),
      [
        '.apiVersion',
        '.kind',
        '.metadata',
        '.metadata.name',
        '.spec',
        '.spec.image',
        '.spec.tag',
        '.spec.digest',
        '.spec.imagePolicy',
        '.spec.imagePolicy.semver',
        '.spec.imagePolicy.pattern',
        '.spec.imagePolicy.order',
        '.spec.imagePolicy.interval',
        '.spec.imagePolicy.minAge',
        '.spec.command',
        '.spec.command[]',
        '.spec.env',
        '.spec.env.*',
        '.spec.envFrom',
        '.spec.envFrom[]',
        '.spec.envFrom[].file',
        '.spec.secrets',
        '.spec.secrets[]',
        '.spec.secrets[].file',
        '.spec.secrets[].target',
        '.spec.ports',
        '.spec.ports[]',
        '.spec.ports[].container',
        '.spec.ports[].host',
        '.spec.ports[].hostIp',
        '.spec.ports[].protocol',
        '.spec.volumes',
        '.spec.volumes[]',
        '.spec.volumes[].source',
        '.spec.volumes[].target',
        '.spec.volumes[].readOnly',
        '.spec.replicas',
        '.spec.resources',
        '.spec.resources.memory',
        '.spec.resources.cpus',
        '.spec.checks',
        '.spec.checks.wait',
        '.spec.checks.http',
        '.spec.checks.http[]',
        '.spec.checks.http[].path',
        '.spec.checks.http[].content',
        '.spec.checks.http[].port',
        '.spec.checks.http[].attempts',
        '.spec.checks.http[].wait',
        '.spec.checks.http[].timeout',
        '.spec.checks.exec',
        '.spec.checks.exec[]',
        '.spec.checks.exec[].command',
        '.spec.checks.exec[].command[]',
        '.spec.checks.exec[].attempts',
        '.spec.checks.exec[].wait',
        '.spec.checks.exec[].timeout',
        '.spec.release',
        '.spec.release.command',
        '.spec.release.command[]',
        '.spec.release.timeout',
        '.spec.postDeploy',
        '.spec.postDeploy.command',
        '.spec.postDeploy.command[]',
        '.spec.postDeploy.timeout',
        '.spec.deploy',
        '.spec.deploy.strategy',
        '.spec.deploy.retireAfter',
        '.spec.deploy.progressDeadline',
        '.spec.deploy.monitor',
        '.spec.deploy.canary',
        '.spec.deploy.canary.steps',
        '.spec.deploy.canary.steps[]',
        '.spec.deploy.canary.interval',
        '.spec.deploy.canary.maxErrorRate',
        '.spec.deploy.canary.maxLatencyP95',
        '.spec.deploy.canary.minRequests',
        '.spec.domains',
        '.spec.domains[]',
      ],
    );
  });

  it('has defaults that its own rules accept', () => {
    const ajv = new Ajv({ strict: true });
    const invalid = nodes(schema)
      .filter(([, node]) => node.default !== undefined)
      .filter(([, node]) => {
        const { default: value, ...rules } = node;
        return !ajv.validate(rules, value);
      })
      .map(([where]) => where);
    assert.deepEqual(invalid, []);
  });

  it('fills the documented defaults into a minimal manifest', () => {
    const data = {
      apiVersion: 'berth/v1',
      kind: 'App',
      metadata: { name: 'web' },
      spec: {
        tag: 'v1',
        ports: [{ container: 5000 }],
        volumes: [{ source: 'data', target: '/data' }],
        checks: { http: [{ path: '/' }], exec: [{ command: ['/probe'] }] },
      },
    };
    assert.equal(appValidator()(data), true);
    assert.deepEqual(data.spec, {
      tag: 'v1',
      env: {},
      envFrom: [],
      secrets: [],
      ports: [{ container: 5000, hostIp: '127.0.0.1', protocol: 'tcp' }],
      volumes: [{ source: 'data', target: '/data', readOnly: false }],
      replicas: 1,
      resources: {},
      checks: {
        wait: 10,
        http: [{ path: '/', attempts: 5, wait: 5, timeout: 5 }],
        exec: [{ command: ['/probe'], attempts: 5, wait: 5, timeout: 5 }],
      },
      deploy: { strategy: 'zero-downtime', retireAfter: 60, progressDeadline: 600 },
      domains: [],
    });
  });

  describe('hostIp pattern', () => {
    const hostIp = patternAt('spec', 'ports', '[]', 'hostIp');
    const samples = [
      '127.0.0.1',
      '0.0.0.0',
      '255.255.255.255',
      '10.1.2.3',
      '256.1.1.1',
      '1.2.3',
      '01.2.3.4',
      '1.2.3.4.5',
      '::',
      '::1',
      'fe80::1',
      '2001:db8::8a2e:370:7334',
      '1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8:9',
      '::ffff:10.0.0.1',
      'a:b:c:d:e:f:1.2.3.4',
      '1::2::3',
      ':1',
      '1:',
      'localhost',
      '',
      ' 127.0.0.1',
      'g::1',
    ];
    for (const sample of samples) {
      it(`agrees with node:net about ${JSON.stringify(sample)}`, () => {
        assert.equal(hostIp.test(sample), isIP(sample) !== 0);
      });
    }
  });

  describe('image pattern', () => {
    const image = patternAt('spec', 'image');
    for (const ok of [
      'dokku/node-js-app',
      'nginx',
      'ghcr.io/x/y',
      '127.0.0.1:5000/team/web',
      'localhost:5000/a',
      'a.b_c__d-e---f/g',
      '[::1]:5000/web',
      'Registry.Example:443/x',
    ]) {
      it(`accepts ${ok}`, () => assert.equal(image.test(ok), true));
    }
    for (const bad of [
      'nginx:1.25',
      'dokku/web@sha256:abc',
      'Dokku/Web',
      'dokku//web',
      '/web',
      'web/',
      'we_-b',
      'web.',
      'dokku/web app',
      '-web',
    ]) {
      it(`rejects ${bad}`, () => assert.equal(image.test(bad), false));
    }
  });

  describe('tag pattern', () => {
    const tag = patternAt('spec', 'tag');
    for (const ok of ['v12', 'latest', '1.0', '_x', 'A-b.c_d', 'x'.repeat(128)]) {
      it(`accepts ${ok.length > 20 ? `${ok.length} characters` : ok}`, () => assert.equal(tag.test(ok), true));
    }
    for (const bad of ['.v1', '-v1', 'v1;rm', 'v 1', 'v1:2', '', 'x'.repeat(129), 'ü']) {
      it(`rejects ${bad.length > 20 ? `${bad.length} characters` : JSON.stringify(bad)}`, () =>
        assert.equal(tag.test(bad), false));
    }
  });

  describe('metadata.name pattern', () => {
    const name = patternAt('metadata', 'name');
    for (const ok of ['web', 'a', '0', 'node-js-app', 'a'.repeat(63)]) {
      it(`accepts ${ok.length > 20 ? `${ok.length} characters` : ok}`, () => assert.equal(name.test(ok), true));
    }
    for (const bad of ['Web', 'web_1', '-web', 'web-', 'a'.repeat(64), '', 'web.app']) {
      it(`rejects ${bad.length > 20 ? `${bad.length} characters` : JSON.stringify(bad)}`, () =>
        assert.equal(name.test(bad), false));
    }
  });
});
