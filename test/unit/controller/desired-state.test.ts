import { strict as assert } from 'node:assert';
import { DesiredState } from '../../../src/controller/desired-state.js';
import type { App, ManifestProblem, ManifestSet } from '../../../src/manifest/types.js';
import { testApp } from '../../support/apps.js';
import { collisionProblems, findCollisions } from '../../../src/manifest/claims.js';

function read(apps: App[], extra: Partial<ManifestSet> = {}): ManifestSet {
  const collisions = findCollisions(apps);
  return {
    apps: new Map(apps.map((a) => [a.name, a])),
    problems: collisionProblems(collisions.filter((c) => c.severity === 'error')),
    warnings: [],
    collisions: collisions.filter((c) => c.severity === 'error'),
    conflicts: new Map(),
    invalid: new Set(),
    fileCount: apps.length,
    directory: 'ok',
    ...extra,
  };
}
const problem = (file: string, message: string, app?: string): ManifestProblem => ({
  file,
  line: 3,
  col: 5,
  message,
  ...(app ? { app } : {}),
});

describe('DesiredState', () => {
  const web = testApp('web');
  const api = testApp('api');

  it('reports which apps changed between reads, and only those', () => {
    const desired = new DesiredState(false);
    assert.deepEqual(desired.update(read([web, api])), ['api', 'web']);
    assert.deepEqual(desired.update(read([web, api])), []);
    assert.deepEqual(desired.update(read([testApp('web', { tag: 'v2' }), api])), ['web']);
  });

  it('keeps the last valid manifest of an app whose file turned invalid, reporting the problem', () => {
    const desired = new DesiredState(false);
    desired.update(read([web, api]));
    desired.update(
      read([api], {
        invalid: new Set(['web']),
        problems: [problem('/m/web.yaml', 'spec.tag: must be a string', 'web')],
      }),
    );
    assert.deepEqual(desired.get('web'), {
      kind: 'present',
      app: web,
      invalid: '/m/web.yaml:3:5: spec.tag: must be a string',
    });
  });

  it('keeps both conflicting definitions out and the last valid one in', () => {
    const desired = new DesiredState(false);
    desired.update(read([web, api]));
    desired.update(read([api], { conflicts: new Map([['web', ['/m/a.yaml', '/m/b.yaml']]]) }));
    const state = desired.get('web');
    assert.equal(state.kind, 'present');
    assert.match(
      state.kind === 'present' ? (state.invalid ?? '') : '',
      /more than one file \(\/m\/a\.yaml, \/m\/b\.yaml\)/,
    );
  });

  it('removes an app whose manifest was deleted while others remain', () => {
    const desired = new DesiredState(false);
    desired.update(read([web, api]));
    assert.deepEqual(desired.update(read([api])), ['web']);
    assert.deepEqual(desired.get('web'), { kind: 'absent' });
  });

  for (const [label, set] of [
    ['empty', read([], { directory: 'empty' })],
    ['missing', read([], { directory: 'missing' })],
    ['unreadable', read([], { directory: 'unreadable' })],
    ['left with only comment files', read([], { directory: 'ok', fileCount: 2 })],
  ] as const) {
    it(`removes nothing when the directory is ${label}`, () => {
      const desired = new DesiredState(false);
      desired.update(read([web]));
      desired.update(set);
      const state = desired.get('web');
      assert.equal(state.kind, 'present');
    });
  }

  it('lets an emptied directory remove apps with --allow-empty, never a missing one', () => {
    const desired = new DesiredState(true);
    desired.update(read([web]));
    desired.update(read([], { directory: 'empty' }));
    assert.deepEqual(desired.get('web'), { kind: 'absent' });
    const other = new DesiredState(true);
    other.update(read([web]));
    other.update(read([], { directory: 'missing' }));
    assert.equal(other.get('web').kind, 'present');
  });

  it('holds every removal while some file cannot be attributed to an app', () => {
    const desired = new DesiredState(false);
    desired.update(read([web, api]));
    desired.update(read([api], { problems: [problem('/m/x.yaml', 'invalid YAML: bad indentation')] }));
    const state = desired.get('web');
    assert.equal(state.kind, 'present');
    assert.match(state.kind === 'present' ? (state.invalid ?? '') : '', /removal held.*x\.yaml:3:5/);
  });

  it('holds removal of a running app it never saw valid (berth restarted with a broken file)', () => {
    const desired = new DesiredState(false);
    desired.update(
      read([api], {
        invalid: new Set(['web']),
        problems: [problem('/m/web.yaml', 'spec: missing required field "tag"', 'web')],
      }),
    );
    const state = desired.get('web');
    assert.equal(state.kind, 'absent');
    assert.match(state.kind === 'absent' ? (state.hold ?? '') : '', /missing required field/);
  });

  it('names the apps waiting for an image reference', () => {
    const desired = new DesiredState(false);
    desired.update(read([web, testApp('api', { tag: 'v9' })]));
    assert.deepEqual(desired.waitingFor('dokku/api:v9'), ['api']);
  });

  describe('apps that claim one host port or domain', () => {
    const port = { container: 8080, host: 18777, hostIp: '127.0.0.1', protocol: 'tcp' as const };
    const holder = testApp('a', { ports: [port] });
    const newcomer = testApp('b', { ports: [port] });

    it('lets the app that holds the claim keep it and refuses the newcomer, which keeps its last valid manifest', () => {
      const desired = new DesiredState(false);
      const bBefore = testApp('b', { ports: [{ ...port, host: 18778 }] });
      desired.update(read([holder, bBefore]));
      assert.deepEqual(desired.update(read([holder, newcomer])), ['b']);
      assert.deepEqual(desired.get('a'), { kind: 'present', app: holder });
      const b = desired.get('b');
      assert.equal(b.kind === 'present' && b.app, bBefore, 'b keeps serving its last valid manifest');
      assert.match(
        b.kind === 'present' ? (b.invalid ?? '') : '',
        /host port 127\.0\.0\.1:18777\/tcp is also published by app a \(.*\); a keeps it$/,
      );
      assert.deepEqual(desired.update(read([holder, bBefore])), ['b'], 'once the files agree, b is valid again');
      assert.deepEqual(desired.get('b'), { kind: 'present', app: bBefore });
    });

    it('deploys neither when neither holds the claim yet, and deploys both once the files agree', () => {
      const desired = new DesiredState(false);
      desired.update(read([holder, newcomer]));
      for (const name of ['a', 'b']) {
        const got = desired.get(name);
        assert.equal(got.kind, 'absent');
        assert.match(got.kind === 'absent' ? (got.invalid ?? '') : '', /neither is deployed until the files agree$/);
      }
      desired.update(read([holder, testApp('b', { ports: [{ ...port, host: 18778 }] })]));
      assert.equal(desired.get('a').kind, 'present');
      assert.equal(desired.get('b').kind, 'present');
    });

    it('at start, asks the host who holds the claim (its containers publish the port)', () => {
      const desired = new DesiredState(false);
      desired.setHostClaims((app, claim) => app === 'a' && claim.kind === 'port' && claim.port === 18777);
      desired.update(read([holder, newcomer]));
      assert.deepEqual(desired.get('a'), { kind: 'present', app: holder });
      assert.equal(desired.get('b').kind, 'absent');
    });
  });
});
