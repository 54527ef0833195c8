import { strict as assert } from 'node:assert';
import { parseManifestText } from '../../../src/manifest/parse.js';
import { validateDocument, type ValidationResult } from '../../../src/manifest/validate.js';
import { formatProblem, type LoadOptions } from '../../../src/manifest/types.js';

const DOCKER: LoadOptions = { namespace: 'dokku', allowHostPaths: [] };
const SWARM: LoadOptions = { ...DOCKER, runtime: 'swarm' };

/** A manifest for app `web` whose spec starts `tag: v1` on line 6; `specLines` follow from line 7. */
function manifest(...specLines: string[]): string {
  return ['apiVersion: berth/v1', 'kind: App', 'metadata:', '  name: web', 'spec:', '  tag: v1', ...specLines, ''].join(
    '\n',
  );
}

function validate(text: string, options: LoadOptions): ValidationResult {
  const { documents } = parseManifestText(text, 'm.yaml');
  assert.ok(documents[0]);
  return validateDocument(documents[0], 'm.yaml', options);
}

describe('fields Swarm cannot honour, said where they are written (--runtime swarm)', () => {
  it('refuses a hostIp bound to one address, naming file:line:col, and lets the same manifest through on one host', () => {
    const text = manifest('  ports:', '    - container: 8080', '      host: 8080', '      hostIp: 127.0.0.1');
    const onSwarm = validate(text, SWARM);
    assert.equal(onSwarm.ok, false);
    assert.deepEqual(onSwarm.ok ? [] : onSwarm.problems.map(formatProblem), [
      'm.yaml:10:15: spec.ports[0].hostIp: Swarm publishes port 8080/tcp on every address of the node that runs each task and cannot bind 127.0.0.1; write 0.0.0.0 (or ::), or drop the port and let the proxy reach the tasks',
    ]);
    const onOneHost = validate(text, DOCKER);
    assert.ok(onOneHost.ok);
    assert.equal(onOneHost.app.warnings, undefined);
  });

  it('takes a wildcard hostIp as it is, with nothing to say', () => {
    for (const address of ['0.0.0.0', '"::"']) {
      const result = validate(manifest('  ports:', '    - container: 8080', `      hostIp: ${address}`), SWARM);
      assert.ok(result.ok, address);
      assert.equal(result.app.warnings, undefined, address);
    }
  });

  it('warns of an omitted hostIp (127.0.0.1 on one host, every address on Swarm) and of a written retireAfter', () => {
    const text = manifest('  ports:', '    - container: 8080', '  deploy:', '    retireAfter: 30');
    const result = validate(text, SWARM);
    assert.ok(result.ok, 'warnings refuse nothing');
    assert.deepEqual(result.app.warnings?.map(formatProblem), [
      'm.yaml:8:7: warning: spec.ports[0]: on Swarm port 8080/tcp is published on every address of the node that runs each task, not on 127.0.0.1 as on one host; write hostIp: 0.0.0.0 to say so',
      'm.yaml:10:18: warning: spec.deploy.retireAfter has no effect on Swarm: Swarm stops each old task as soon as its replacement is healthy',
    ]);
  });

  it('says nothing of a retireAfter the author did not write', () => {
    const result = validate(manifest('  image: nginx'), SWARM);
    assert.ok(result.ok);
    assert.equal(result.app.warnings, undefined);
  });
});
