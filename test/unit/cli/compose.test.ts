import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeEngine, engineChoice } from '../../../src/cli/compose/engine.js';
import { manifestSource } from '../../../src/cli/compose/manifests.js';
import { plannedProxy, wantedDomains } from '../../../src/cli/compose/proxy.js';
import { proxySettings, type ProxyValues } from '../../../src/cli/proxy-options.js';
import { UsageError } from '../../../src/cli/usage.js';
import type { Desired } from '../../../src/reconcile/core/desired.js';
import { SecretDecrypter } from '../../../src/secrets/decrypter.js';
import { systemClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
import { testApp } from '../../support/apps.js';

const PROXY_DEFAULTS: ProxyValues = {
  'nginx-conf-dir': '/etc/nginx/conf.d',
  'proxy-listen': '80',
  'nginx-reload': 'nginx -s reload',
  'nginx-test': 'nginx -t',
  'proxy-tls-listen': '443',
};

describe('berth composed from its flags (src/cli/compose)', () => {
  it('checks --runtime once, for run and plan alike: docker or swarm, nothing else', () => {
    assert.deepEqual(engineChoice({ runtime: 'docker' }), { kind: 'docker' });
    assert.deepEqual(engineChoice({ runtime: 'swarm', 'swarm-registry': 'registry.test:5000' }), {
      kind: 'swarm',
      registry: 'registry.test:5000',
    });
    assert.throws(
      () => engineChoice({ runtime: 'kubernetes' }),
      (error: unknown) =>
        error instanceof UsageError && error.message === '--runtime must be docker or swarm, not "kubernetes"',
    );
  });

  it('checks host paths on one host only: a swarm mounts them on whichever node runs the task', () => {
    const options = { namespace: 'dokku', clock: systemClock, logger: silentLogger(), stopTimeoutSeconds: 10 };
    assert.equal(composeEngine({ kind: 'docker' }, { ...options, keepRevisions: 5 }).checksHostPaths, true);
    assert.equal(composeEngine({ kind: 'swarm' }, { ...options, keepRevisions: 5 }).checksHostPaths, false);
  });

  it('reports the TLS flags before the router flags, and routes nothing without --proxy', async () => {
    await assert.rejects(
      proxySettings({ ...PROXY_DEFAULTS, proxy: 'traefik', 'tls-cert-dir': '/certs' }, 'dokku'),
      /--tls-cert-dir needs --proxy nginx/,
    );
    await assert.rejects(
      proxySettings({ ...PROXY_DEFAULTS, domain: 'apps.test' }, 'dokku'),
      /--domain needs --proxy nginx/,
    );
    const none = await plannedProxy(await proxySettings(PROXY_DEFAULTS, 'dokku'), {
      stateDir: '/nonexistent',
      namespace: 'dokku',
    });
    assert.equal(none.proxied, false);
    assert.deepEqual(await none.router.routed(), []);
    const nginx = await proxySettings({ ...PROXY_DEFAULTS, proxy: 'nginx', domain: 'apps.test' }, 'dokku');
    assert.deepEqual(nginx.claims, { defaultDomain: 'apps.test' });
    assert.equal((await plannedProxy(nginx, { stateDir: '/nonexistent', namespace: 'dokku' })).proxied, true);
  });

  it('orders certificates for the domains nginx serves an app with a manifest, not for those another block holds', () => {
    const apps: Record<string, Desired> = {
      web: { kind: 'present', app: testApp('web', { domains: ['web.test', 'taken.test'] }) },
      api: { kind: 'present', app: testApp('api') },
      old: { kind: 'absent' },
    };
    const desired = { names: () => Object.keys(apps), get: (name: string) => apps[name]! };
    const nginx = {
      domainsOf: (app: { name: string; spec: { domains: string[] } }) =>
        app.spec.domains.length > 0 ? app.spec.domains : [`${app.name}.apps.test`],
      refusedDomains: (name: string) => (name === 'web' ? ['taken.test'] : []),
    };
    assert.deepEqual(
      [...wantedDomains(desired, nginx)],
      [
        ['web.test', 'web'],
        ['api.apps.test', 'api'],
      ],
    );
  });

  describe('the manifests, read for the engine', () => {
    let root: string;
    before(async () => {
      root = await realpath(await mkdtemp(join(tmpdir(), 'berth-compose-')));
      await mkdir(join(root, 'manifests'));
      await writeFile(
        join(root, 'manifests', 'bound.yaml'),
        'apiVersion: berth/v1\nkind: App\nmetadata:\n  name: bound\nspec:\n  tag: v1\n  ports:\n    - container: 80\n      hostIp: 127.0.0.1\n',
      );
    });
    after(async () => {
      await rm(root, { recursive: true, force: true });
    });

    const read = async (kind: 'docker' | 'swarm') => {
      const source = await manifestSource({
        dir: join(root, 'manifests'),
        shared: { namespace: 'dokku', stateDir: join(root, 'state'), allowHostPaths: [] },
        claims: {},
        engine: { kind, checksHostPaths: kind === 'docker' },
        decrypter: SecretDecrypter.none(),
      });
      return source.read();
    };

    it('says at its place what Swarm cannot honour, and nothing of it on one host', async () => {
      const onHost = await read('docker');
      assert.deepEqual([...onHost.apps.keys()], ['bound']);
      assert.deepEqual(onHost.problems, []);
      const onSwarm = await read('swarm');
      assert.deepEqual(
        onSwarm.problems.map((p) => `${p.line}:${p.col}`),
        ['9:15'],
        JSON.stringify(onSwarm.problems),
      );
    });
  });
});
