import { strict as assert } from 'node:assert';
import { toCreateOptions } from '../../../../src/runtime/docker/create-options.js';
import type { ContainerCreateSpec } from '../../../../src/runtime/types.js';

const spec: ContainerCreateSpec = {
  name: 'dokku.web.abc.0',
  image: 'sha256:1234',
  env: { NODE_ENV: 'production', EMPTY: '' },
  labels: { 'berth.managed': 'true' },
  ports: [
    { container: 5000, hostIp: '127.0.0.1', protocol: 'tcp' },
    { container: 5000, host: 8080, hostIp: '0.0.0.0', protocol: 'tcp' },
    { container: 53, host: 5353, hostIp: '127.0.0.1', protocol: 'udp' },
  ],
  volumes: [
    { source: 'app-data', target: '/data', readOnly: false },
    { source: '/srv/static', target: '/static', readOnly: true },
  ],
  resources: { memory: '256m', cpus: 0.5 },
};

describe('toCreateOptions', function () {
  it('maps the spec, and grants nothing it does not name', function () {
    assert.deepEqual(toCreateOptions({ ...spec, command: ['node', 'index.js'] }), {
      name: 'dokku.web.abc.0',
      Image: 'sha256:1234',
      Cmd: ['node', 'index.js'],
      Env: ['NODE_ENV=production', 'EMPTY='],
      Labels: { 'berth.managed': 'true' },
      ExposedPorts: { '5000/tcp': {}, '53/udp': {} },
      HostConfig: {
        PortBindings: {
          '5000/tcp': [
            { HostIp: '127.0.0.1', HostPort: '' },
            { HostIp: '0.0.0.0', HostPort: '8080' },
          ],
          '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
        },
        Mounts: [
          { Type: 'volume', Source: 'app-data', Target: '/data', ReadOnly: false },
          { Type: 'bind', Source: '/srv/static', Target: '/static', ReadOnly: true },
        ],
        RestartPolicy: { Name: 'unless-stopped' },
        Memory: 256 * 1024 * 1024,
        NanoCpus: 500_000_000,
      },
    });
  });

  it('keeps the image CMD and sets no limits when the spec names none', function () {
    const options = toCreateOptions({ ...spec, resources: {} });
    assert.equal('Cmd' in options, false);
    assert.equal('Memory' in (options.HostConfig ?? {}), false);
    assert.equal('NanoCpus' in (options.HostConfig ?? {}), false);
  });

  it('throws on a memory limit that does not parse', function () {
    assert.throws(() => toCreateOptions({ ...spec, resources: { memory: 'lots' } }), /invalid memory limit "lots"/);
  });
});
