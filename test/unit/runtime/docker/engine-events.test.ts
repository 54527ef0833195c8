import { strict as assert } from 'node:assert';
import { runtimeEventOf } from '../../../../src/runtime/docker/engine-events.js';

const managed = { 'berth.managed': 'true', 'berth.namespace': 'dokku', 'berth.app': 'web', image: 'dokku/web:v1' };

function containerEvent(action: string, attributes: Record<string, string>): unknown {
  return { Type: 'container', Action: action, Actor: { ID: 'c1', Attributes: attributes } };
}

describe('runtimeEventOf', function () {
  it('keeps container events of the namespace’s managed containers', function () {
    for (const action of ['create', 'start', 'die', 'stop', 'kill', 'oom', 'destroy']) {
      assert.deepEqual(runtimeEventOf(containerEvent(action, managed), 'dokku'), {
        kind: 'container',
        action,
        id: 'c1',
        namespace: 'dokku',
        app: 'web',
      });
    }
  });

  it('drops other namespaces, unmanaged containers and exec noise; strips a status detail', function () {
    assert.equal(runtimeEventOf(containerEvent('die', managed), 'other'), undefined);
    assert.equal(runtimeEventOf(containerEvent('die', { ...managed, 'berth.managed': 'false' }), 'dokku'), undefined);
    assert.equal(runtimeEventOf(containerEvent('exec_start: sh -c env', managed), 'dokku'), undefined);
    assert.equal(runtimeEventOf(containerEvent('exec_die', managed), 'dokku'), undefined);
    assert.equal(runtimeEventOf(containerEvent('health_status: unhealthy', managed), 'dokku')?.action, 'health_status');
  });

  it('keeps every image event, the ref from its name attribute or its id', function () {
    assert.deepEqual(
      runtimeEventOf(
        { Type: 'image', Action: 'tag', Actor: { ID: 'sha256:1', Attributes: { name: 'dokku/web:v2' } } },
        'dokku',
      ),
      { kind: 'image', action: 'tag', id: 'sha256:1', ref: 'dokku/web:v2' },
    );
    assert.deepEqual(runtimeEventOf({ Type: 'image', Action: 'pull', Actor: { ID: 'dokku/web:v3' } }, 'dokku'), {
      kind: 'image',
      action: 'pull',
      id: 'dokku/web:v3',
      ref: 'dokku/web:v3',
    });
  });

  it('drops other types and malformed events', function () {
    assert.equal(runtimeEventOf({ Type: 'network', Action: 'connect', Actor: { ID: 'n1' } }, 'dokku'), undefined);
    assert.equal(runtimeEventOf({ Type: 'container', Action: 'die' }, 'dokku'), undefined);
    assert.equal(runtimeEventOf(null, 'dokku'), undefined);
    assert.equal(runtimeEventOf('garbage', 'dokku'), undefined);
  });
});
