import { strict as assert } from 'node:assert';
import { analyzeManifestText } from '../../../../src/manifest/read/analyze.js';
import type { App, LoadOptions } from '../../../../src/manifest/types.js';
import { revisionKey, specHash } from '../../../../src/reconcile/core/revision.js';
import { containerSpecFor } from '../../../../src/reconcile/docker/container-spec.js';
import { serviceSpecFor } from '../../../../src/reconcile/swarm/service-spec.js';

/**
 * spec.imagePolicy says how berth moves spec.tag, not what a container is: adding it, editing it or
 * removing it makes no new revision, so no container restarts and no Swarm service is updated.
 */
describe('revision identity and spec.imagePolicy', () => {
  const OPTIONS: LoadOptions = { namespace: 'dokku', allowHostPaths: [] };
  const manifest = (policy: string[]) =>
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
      ...policy,
      '',
    ].join('\n');

  function appOf(text: string): App {
    const analysis = analyzeManifestText(text, 'web.yaml', OPTIONS);
    const result = analysis.documents[0]?.result;
    assert.ok(result?.ok, JSON.stringify(result));
    return result.app;
  }

  const without = appOf(manifest([]));
  const semverPolicy = appOf(manifest(['  imagePolicy:', '    semver: ">=1.0.0 <2.0.0"']));
  const patternPolicy = appOf(
    manifest([
      '  imagePolicy:',
      "    pattern: '^main-(?P<key>[0-9]+)$'",
      '    order: alphabetical',
      '    interval: 60',
      '    minAge: 600',
    ]),
  );

  it('reads the policy into the spec (so the test below compares apps that differ)', () => {
    assert.equal(without.spec.imagePolicy, undefined);
    assert.deepEqual(semverPolicy.spec.imagePolicy, { semver: '>=1.0.0 <2.0.0', interval: 300, minAge: 0 });
    assert.deepEqual(patternPolicy.spec.imagePolicy, {
      pattern: '^main-(?P<key>[0-9]+)$',
      order: 'alphabetical',
      interval: 60,
      minAge: 600,
    });
  });

  it('gives an app the same spec hash with and without a policy, whichever policy', () => {
    const hash = specHash(without.spec);
    assert.equal(specHash(semverPolicy.spec), hash);
    assert.equal(specHash(patternPolicy.spec), hash);
    // and the hash still sees the tag the policy moves
    assert.notEqual(specHash({ ...semverPolicy.spec, tag: '1.4.3' }), hash);
  });

  it('gives the same container spec on one host', () => {
    const revision = { specHash: specHash(without.spec), imageId: `sha256:${'a'.repeat(64)}` };
    assert.equal(revisionKey(revision), `${specHash(semverPolicy.spec)}@sha256:${'a'.repeat(64)}`);
    assert.deepEqual(
      containerSpecFor('dokku', semverPolicy, revision, 0),
      containerSpecFor('dokku', without, revision, 0),
    );
    assert.deepEqual(
      containerSpecFor('dokku', patternPolicy, revision, 0),
      containerSpecFor('dokku', without, revision, 0),
    );
  });

  it('gives the same Swarm service spec, labels and service hash included', () => {
    const image = { ref: `registry.example.test/team/web:1.4.2@sha256:${'b'.repeat(64)}`, pinned: true };
    const plain = serviceSpecFor('dokku', without, image, 1, 10);
    assert.ok('spec' in plain);
    assert.deepEqual(serviceSpecFor('dokku', semverPolicy, image, 1, 10), plain);
    assert.deepEqual(serviceSpecFor('dokku', patternPolicy, image, 1, 10), plain);
    assert.doesNotMatch(JSON.stringify(plain), /imagePolicy|semver|main-/);
  });
});
