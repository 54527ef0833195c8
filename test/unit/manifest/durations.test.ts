import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { analyzeManifestText } from '../../../src/manifest/read/analyze.js';
import { formatProblem, type LoadOptions } from '../../../src/manifest/types.js';

/**
 * Every duration and count of checks and deploys has a maximum: a check may not wait, time out
 * or retry without bound, and a number too large for a timer (2^31 ms) never reaches one. Past
 * the maximum is a problem at file:line:col, like any other.
 */
describe('schema maxima of durations and attempts', () => {
  const OPTIONS: LoadOptions = { namespace: 'dokku', allowHostPaths: [] };
  const analyze = (text: string) => {
    const analysis = analyzeManifestText(text, 'm.yaml', OPTIONS);
    return [...analysis.problems, ...analysis.documents.flatMap((d) => (d.result.ok ? [] : d.result.problems))].map(
      formatProblem,
    );
  };
  const manifest = (spec: string) =>
    `apiVersion: berth/v1\nkind: App\nmetadata:\n  name: web\nspec:\n  tag: v1\n  ports: [{ container: 8080 }]\n${spec}`;

  const MAXIMA: [string, number][] = [
    ['spec.checks.wait', 3600],
    ['spec.checks.http[].attempts', 100],
    ['spec.checks.http[].wait', 300],
    ['spec.checks.http[].timeout', 300],
    ['spec.checks.exec[].attempts', 100],
    ['spec.checks.exec[].wait', 300],
    ['spec.checks.exec[].timeout', 300],
    ['spec.release.timeout', 3600],
    ['spec.postDeploy.timeout', 3600],
    ['spec.deploy.retireAfter', 3600],
    ['spec.deploy.progressDeadline', 3600],
    ['spec.deploy.monitor', 3600],
    ['spec.deploy.canary.steps[]', 99],
    ['spec.deploy.canary.interval', 3600],
    ['spec.deploy.canary.maxErrorRate', 100],
    ['spec.deploy.canary.maxLatencyP95', 600000],
    ['spec.deploy.canary.minRequests', 1000000],
    ['spec.imagePolicy.interval', 86400],
    ['spec.imagePolicy.minAge', 1209600],
  ];

  it('sets a maximum on every duration and attempt count in the schema, and on nothing else new', () => {
    const schema = JSON.parse(readFileSync(resolve('schemas/app.schema.json'), 'utf8'));
    const found: [string, number][] = [];
    const walk = (node: Record<string, unknown>, where: string) => {
      if (typeof node.maximum === 'number' && !/port|container|host/i.test(where)) found.push([where, node.maximum]);
      const properties = (node.properties ?? {}) as Record<string, Record<string, unknown>>;
      for (const [key, child] of Object.entries(properties)) walk(child, where === '' ? key : `${where}.${key}`);
      if (node.items && typeof node.items === 'object') walk(node.items as Record<string, unknown>, `${where}[]`);
    };
    walk(schema, '');
    assert.deepEqual(found.sort(), [...MAXIMA].sort());
  });

  it('accepts each at its maximum', () => {
    const text = manifest(
      [
        '  checks:',
        '    wait: 3600',
        '    http: [{ path: /, attempts: 100, wait: 300, timeout: 300 }]',
        '    exec: [{ command: [/probe], attempts: 100, wait: 300, timeout: 300 }]',
        '  release: { command: [/migrate], timeout: 3600 }',
        '  postDeploy: { command: [/warm], timeout: 3600 }',
        '  deploy: { retireAfter: 3600, progressDeadline: 3600, monitor: 3600 }',
        '',
      ].join('\n'),
    );
    assert.deepEqual(analyze(text), []);
  });

  it('refuses each past its maximum at file:line:col, naming the range', () => {
    const text = manifest(
      [
        '  checks:',
        '    wait: 3601',
        '    http: [{ path: /, attempts: 101, wait: 301, timeout: 301 }]',
        '    exec: [{ command: [/probe], attempts: 1000, wait: 86400, timeout: 99999999999 }]',
        '  release: { command: [/migrate], timeout: 3601 }',
        '  postDeploy: { command: [/warm], timeout: 86400 }',
        '  deploy: { retireAfter: 3601, progressDeadline: 3601, monitor: 3601 }',
        '',
      ].join('\n'),
    );
    assert.deepEqual(analyze(text), [
      'm.yaml:9:11: spec.checks.wait: must be an integer from 0 to 3600',
      'm.yaml:10:33: spec.checks.http[0].attempts: must be an integer from 1 to 100',
      'm.yaml:10:44: spec.checks.http[0].wait: must be an integer from 0 to 300',
      'm.yaml:10:58: spec.checks.http[0].timeout: must be an integer from 1 to 300',
      'm.yaml:11:43: spec.checks.exec[0].attempts: must be an integer from 1 to 100',
      'm.yaml:11:55: spec.checks.exec[0].wait: must be an integer from 0 to 300',
      'm.yaml:11:71: spec.checks.exec[0].timeout: must be an integer from 1 to 300',
      'm.yaml:12:44: spec.release.timeout: must be an integer from 1 to 3600',
      'm.yaml:13:44: spec.postDeploy.timeout: must be an integer from 1 to 3600',
      'm.yaml:14:26: spec.deploy.retireAfter: must be an integer from 0 to 3600',
      'm.yaml:14:50: spec.deploy.progressDeadline: must be an integer from 1 to 3600',
      'm.yaml:14:65: spec.deploy.monitor: must be an integer from 0 to 3600',
    ]);
  });
});
