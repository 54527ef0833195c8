import { strict as assert } from 'node:assert';
import { parseManifestText } from '../../../src/manifest/parse.js';
import { validateDocument, type ValidationResult } from '../../../src/manifest/validate.js';
import { formatProblem, type LoadOptions } from '../../../src/manifest/types.js';

const DOCKER: LoadOptions = { namespace: 'dokku', allowHostPaths: [] };
const WITH_DOMAIN: LoadOptions = { ...DOCKER, defaultDomain: 'apps.test' };
const SWARM: LoadOptions = { ...DOCKER, runtime: 'swarm' };

/** App `web` with a port and a domain; `deployLines` follow `  deploy:` on line 9. */
function manifest(deployLines: string[], specLines: string[] = ['  domains: [web.example.test]']): string {
  return [
    'apiVersion: berth/v1',
    'kind: App',
    'metadata:',
    '  name: web',
    'spec:',
    '  tag: v1',
    '  ports: [{ container: 8080 }]',
    ...specLines,
    '  deploy:',
    ...deployLines,
    '',
  ].join('\n');
}

function validate(text: string, options: LoadOptions = DOCKER): ValidationResult {
  const { documents } = parseManifestText(text, 'm.yaml');
  assert.ok(documents[0]);
  return validateDocument(documents[0], 'm.yaml', options);
}

function problems(text: string, options: LoadOptions = DOCKER): string[] {
  const result = validate(text, options);
  return result.ok ? [] : result.problems.map(formatProblem);
}

describe('spec.deploy.canary', () => {
  it('reads the example of the issue as written', () => {
    const result = validate(
      manifest([
        '    canary:',
        '      steps: [10, 25, 50]',
        '      interval: 30',
        '      maxErrorRate: 1',
        '      maxLatencyP95: 500',
        '      minRequests: 50',
      ]),
    );
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.app.spec.deploy.canary, {
      steps: [10, 25, 50],
      interval: 30,
      maxErrorRate: 1,
      maxLatencyP95: 500,
      minRequests: 50,
    });
  });

  it('fills in the defaults: 30 s a step, 1% errors, 50 requests, latency not judged', () => {
    const result = validate(manifest(['    canary: { steps: [5] }']));
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.app.spec.deploy.canary, { steps: [5], interval: 30, maxErrorRate: 1, minRequests: 50 });
    const without = validate(manifest(['    strategy: zero-downtime']));
    assert.ok(without.ok);
    assert.equal(without.app.spec.deploy.canary, undefined, 'no canary unless written');
  });

  it('takes a fractional error rate', () => {
    const result = validate(manifest(['    canary: { steps: [10], maxErrorRate: 0.5 }']));
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.app.spec.deploy.canary?.maxErrorRate, 0.5);
  });

  it('refuses steps that do not increase strictly, pointing at each', () => {
    assert.deepEqual(problems(manifest(['    canary:', '      steps: [10, 25, 25, 20, 50]'])), [
      'm.yaml:11:23: spec.deploy.canary.steps[2]: 25 does not exceed the step before it (25); steps must increase strictly',
      'm.yaml:11:27: spec.deploy.canary.steps[3]: 20 does not exceed the step before it (25); steps must increase strictly',
    ]);
  });

  it('holds every field to its bounds', () => {
    const refused = [
      '{ steps: [] }',
      '{ steps: [0] }',
      '{ steps: [100] }',
      '{ steps: [10.5] }',
      '{ steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }',
      '{ steps: [10], interval: 4 }',
      '{ steps: [10], interval: 3601 }',
      '{ steps: [10], maxErrorRate: -1 }',
      '{ steps: [10], maxErrorRate: 101 }',
      '{ steps: [10], maxLatencyP95: 0 }',
      '{ steps: [10], maxLatencyP95: 600001 }',
      '{ steps: [10], minRequests: 0 }',
      '{ steps: [10], minRequests: 1000001 }',
      '{ interval: 30 }',
      '{ steps: [10], weight: 5 }',
    ];
    for (const canary of refused) {
      const found = problems(manifest([`    canary: ${canary}`]));
      assert.equal(found.length, 1, `${canary}: ${found.join(' | ')}`);
      assert.match(found[0] ?? '', /^m\.yaml:10:\d+: spec\.deploy\.canary/, canary);
    }
    const accepted = [
      '{ steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 99], interval: 5 }',
      '{ steps: [99], interval: 600, maxErrorRate: 0, maxLatencyP95: 600000, minRequests: 1000000 }',
      '{ steps: [1], maxErrorRate: 100, maxLatencyP95: 1, minRequests: 1 }',
    ];
    for (const canary of accepted) assert.deepEqual(problems(manifest([`    canary: ${canary}`])), [], canary);
  });

  it('refuses a canary with deploy.strategy: recreate', () => {
    assert.deepEqual(problems(manifest(['    strategy: recreate', '    canary: { steps: [10] }'])), [
      'm.yaml:11:5: spec.deploy.canary: a canary runs the old and the new revision side by side, and deploy.strategy: recreate stops the old containers first; remove one of them',
    ]);
  });

  it('refuses a canary with a fixed host port', () => {
    const text = manifest(['    canary: { steps: [10] }'], ['  domains: [web.example.test]', '  replicas: 1']).replace(
      'ports: [{ container: 8080 }]',
      'ports: [{ container: 8080 }, { container: 9090, host: 9090 }]',
    );
    assert.deepEqual(problems(text), [
      'm.yaml:11:5: spec.deploy.canary: a canary runs the old and the new revision side by side, and spec.ports[1].host fixes a host port only one container can bind; remove host (nginx reaches the containers) or the canary',
    ]);
  });

  it("refuses a canary nginx would not route, and takes it with validate's --domain", () => {
    const text = manifest(['    canary: { steps: [10] }'], []);
    assert.deepEqual(problems(text), [
      "m.yaml:9:5: spec.deploy.canary: a canary is a split in berth's nginx, and nginx routes this app under no domain; add spec.domains, or run with --proxy nginx --domain D (validate --domain D)",
    ]);
    assert.deepEqual(problems(text, WITH_DOMAIN), []);
  });

  it('refuses steps that take longer than deploy.progressDeadline, and takes them when they fit', () => {
    assert.deepEqual(
      problems(manifest(['    progressDeadline: 89', '    canary: { steps: [10, 25, 50], interval: 30 }'])),
      [
        'm.yaml:11:5: spec.deploy.canary: 3 step(s) of 30 s take 90 s, longer than deploy.progressDeadline (89 s); shorten the steps or raise progressDeadline',
      ],
    );
    assert.deepEqual(
      problems(manifest(['    progressDeadline: 90', '    canary: { steps: [10, 25, 50], interval: 30 }'])),
      [],
    );
    // the default deadline, 600 s, against 10 steps of the default 30 s, and of 61 s
    assert.deepEqual(problems(manifest(['    canary: { steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }'])), []);
    assert.equal(
      problems(manifest(['    canary: { steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], interval: 61 }'])).length,
      1,
    );
  });

  it('says every reason at once', () => {
    const text = manifest(
      ['    strategy: recreate', '    progressDeadline: 10', '    canary: { steps: [50, 10] }'],
      [],
    );
    assert.equal(problems(text).length, 4);
  });

  it('is refused on Swarm with the reason, and the same manifest passes on one host', () => {
    const text = manifest(['    canary: { steps: [10] }']);
    assert.deepEqual(problems(text, SWARM), [
      "m.yaml:10:5: spec.deploy.canary: Swarm rolls out by its own update config; a canary needs one host's nginx (run it with --runtime docker, or remove the canary)",
    ]);
    assert.deepEqual(problems(text), []);
  });
});
