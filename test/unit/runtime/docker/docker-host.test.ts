import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveEngineEndpoint } from '../../../../src/runtime/docker/docker-host.js';

describe('resolveEngineEndpoint', function () {
  it('defaults to the local socket', function () {
    for (const dockerHost of [undefined, '', 'unix://']) {
      const { address, options } = resolveEngineEndpoint(dockerHost, {});
      assert.equal(options.socketPath, '/var/run/docker.sock');
      assert.equal(options.host, undefined);
      assert.ok(address.startsWith('unix://'));
    }
  });

  it('reads unix:// paths', function () {
    assert.equal(
      resolveEngineEndpoint('unix:///run/user/1000/docker.sock', {}).options.socketPath,
      '/run/user/1000/docker.sock',
    );
  });

  it('reads tcp:// and bare host:port addresses, 2375 by default', function () {
    assert.deepEqual(pick(resolveEngineEndpoint('tcp://10.0.0.5:2380', {}).options), {
      host: '10.0.0.5',
      port: 2380,
      protocol: 'http',
      socketPath: undefined,
    });
    assert.deepEqual(pick(resolveEngineEndpoint('127.0.0.1:2399', {}).options), {
      host: '127.0.0.1',
      port: 2399,
      protocol: 'http',
      socketPath: undefined,
    });
    assert.deepEqual(pick(resolveEngineEndpoint('tcp://docker.internal', {}).options), {
      host: 'docker.internal',
      port: 2375,
      protocol: 'http',
      socketPath: undefined,
    });
    assert.equal(resolveEngineEndpoint('tcp://[::1]:2375', {}).options.host, '::1');
  });

  it('speaks TLS with the certificates of DOCKER_CERT_PATH when DOCKER_TLS_VERIFY is set, 2376 by default', async function () {
    const certPath = await mkdtemp(join(tmpdir(), 'berth-certs-'));
    try {
      for (const file of ['ca.pem', 'cert.pem', 'key.pem']) await writeFile(join(certPath, file), file);
      const { options } = resolveEngineEndpoint('tcp://docker.internal', {
        DOCKER_TLS_VERIFY: '1',
        DOCKER_CERT_PATH: certPath,
      });
      assert.deepEqual(pick(options), {
        host: 'docker.internal',
        port: 2376,
        protocol: 'https',
        socketPath: undefined,
      });
      assert.equal(String(options.ca), 'ca.pem');
      assert.equal(String(options.cert), 'cert.pem');
      assert.equal(String(options.key), 'key.pem');
      assert.throws(
        () =>
          resolveEngineEndpoint('tcp://docker.internal', {
            DOCKER_TLS_VERIFY: '1',
            DOCKER_CERT_PATH: join(certPath, 'none'),
          }),
        /ca\.pem is unreadable/,
      );
    } finally {
      await rm(certPath, { recursive: true, force: true });
    }
  });

  it('refuses other schemes and hostless addresses', function () {
    assert.throws(() => resolveEngineEndpoint('ssh://me@host', {}), /not supported/);
    assert.throws(() => resolveEngineEndpoint('tcp://:2375', {}), /not a valid|names no host/);
  });
});

function pick(options: { host?: string; port?: number | string; protocol?: string; socketPath?: string }): object {
  return { host: options.host, port: options.port, protocol: options.protocol, socketPath: options.socketPath };
}
