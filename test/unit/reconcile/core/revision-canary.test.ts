import { strict as assert } from 'node:assert';
import { analyzeManifestText } from '../../../../src/manifest/read/analyze.js';
import type { App, LoadOptions } from '../../../../src/manifest/types.js';
import { revisionKey, specHash } from '../../../../src/reconcile/core/revision.js';
import { containerSpecFor } from '../../../../src/reconcile/docker/container-spec.js';
import { planApp } from '../../../../src/reconcile/docker/plan.js';
import { containerOf, testApp } from '../../../support/apps.js';

/**
 * spec.deploy.canary says how a new revision reaches users, not what a container is: adding,
 * editing or removing it makes no new revision, so no container restarts.
 */
describe('revision identity and spec.deploy.canary', () => {
  const OPTIONS: LoadOptions = { namespace: 'dokku', allowHostPaths: [] };
  const manifest = (deploy: string[]) =>
    [
      'apiVersion: berth/v1',
      'kind: App',
      'metadata:',
      '  name: web',
      'spec:',
      '  image: registry.example.test/team/web',
      '  tag: 1.4.2',
      '  ports: [{ container: 8080 }]',
      '  env: { MODE: production }',
      '  domains: [web.example.test]',
      ...deploy,
      '',
    ].join('\n');

  function appOf(text: string): App {
    const result = analyzeManifestText(text, 'web.yaml', OPTIONS).documents[0]?.result;
    assert.ok(result?.ok, JSON.stringify(result));
    return result.app;
  }

  const without = appOf(manifest([]));
  const small = appOf(manifest(['  deploy:', '    canary: { steps: [10] }']));
  const edited = appOf(
    manifest([
      '  deploy:',
      '    canary:',
      '      steps: [5, 25, 50]',
      '      interval: 60',
      '      maxErrorRate: 0.5',
      '      maxLatencyP95: 300',
      '      minRequests: 200',
    ]),
  );

  it('reads the canaries into the spec (so the tests below compare apps that differ)', () => {
    assert.equal(without.spec.deploy.canary, undefined);
    assert.deepEqual(small.spec.deploy.canary?.steps, [10]);
    assert.deepEqual(edited.spec.deploy.canary?.steps, [5, 25, 50]);
  });

  it('gives an app the same spec hash with and without a canary, whichever canary', () => {
    const hash = specHash(without.spec);
    assert.equal(specHash(small.spec), hash);
    assert.equal(specHash(edited.spec), hash);
    assert.notEqual(specHash({ ...small.spec, tag: '1.4.3' }), hash);
  });

  it('gives the same container spec on one host', () => {
    const revision = { specHash: specHash(without.spec), imageId: `sha256:${'a'.repeat(64)}` };
    const plain = containerSpecFor('dokku', without, revision, 0);
    assert.deepEqual(containerSpecFor('dokku', small, revision, 0), plain);
    assert.deepEqual(containerSpecFor('dokku', edited, revision, 0), plain);
    assert.doesNotMatch(JSON.stringify(plain), /canary|maxErrorRate/);
  });

  it('plans nothing for a running app whose manifest gains, changes or loses a canary', () => {
    const image = `sha256:${'c'.repeat(64)}`;
    const running = testApp('web', { domains: ['web.example.test'] });
    const canary = { steps: [10, 25, 50], interval: 30, maxErrorRate: 1, minRequests: 50 };
    for (const app of [
      testApp('web', { domains: ['web.example.test'], deploy: { canary } }),
      testApp('web', { domains: ['web.example.test'], deploy: { canary: { ...canary, steps: [50] } } }),
      running,
    ]) {
      const plan = planApp({
        namespace: 'dokku',
        name: 'web',
        desired: { kind: 'present', app },
        containers: [containerOf(running, image)],
        proxy: true,
        now: 1_000_000,
        route: { held: true, current: true },
        retention: { history: [], owned: [], keep: 5 },
        released: [],
        image: { kind: 'present', id: image, repoDigests: [] },
        latestImageId: image,
        serving: { revision: revisionKey({ specHash: specHash(running.spec), imageId: image }), switchedAt: 995_000 },
      });
      assert.deepEqual(
        plan.actions.map((a) => a.type),
        [],
        JSON.stringify(app.spec.deploy.canary),
      );
      assert.equal(plan.outcome.phase, 'Running');
    }
  });
});
