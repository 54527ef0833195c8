import { strict as assert } from 'node:assert';
import { diffApp, formatDiff, type AppShape } from '../../../../src/reconcile/core/diff.js';

const V1 = `sha256:${'a'.repeat(64)}`;
const V2 = `sha256:${'b'.repeat(64)}`;
const SECRET = 's3cr3t-value-that-must-not-leak';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What runs: the container env holds the image's PATH beside the app's own. */
const running: AppShape = {
  image: { ref: 'example/web:v1', id: V1 },
  env: { API_KEY: SECRET, OLD_SETTING: 'on', NODE_ENV: 'production', PATH },
  imageEnv: { PATH },
  ports: [{ container: 8080, hostIp: '127.0.0.1', protocol: 'tcp' }],
  replicas: 1,
};
const desired: AppShape = {
  image: { ref: 'example/web:v2', id: V2 },
  env: { API_KEY: `${SECRET}-rotated`, NEW_FLAG: 'yes', NODE_ENV: 'production' },
  ports: [{ container: 8080, host: 9000, hostIp: '127.0.0.1', protocol: 'tcp' }],
  replicas: 2,
};
const text = (lines: string[]) => lines.join('\n');

describe('diffApp (plan diff)', () => {
  it('names image, env keys, ports and replicas that change, aligned', () => {
    assert.deepEqual(formatDiff(diffApp(running, desired)), [
      '  ~ image     example/web:v1 -> example/web:v2',
      '  ~ env       API_KEY: (value changed)',
      '  + env       NEW_FLAG',
      '  - env       OLD_SETTING',
      '  ~ ports     8080/tcp: 127.0.0.1:* -> 127.0.0.1:9000',
      '  ~ replicas  1 -> 2',
    ]);
  });

  it('never shows an env value: not a changed one, not an added one, not a removed one', () => {
    const shown = text([
      ...formatDiff(diffApp(running, desired)),
      ...formatDiff(diffApp(undefined, desired)),
      ...formatDiff(diffApp(running, undefined)),
    ]);
    for (const value of [SECRET, `${SECRET}-rotated`, 'yes', 'production'])
      assert.ok(!shown.includes(value), `${value} leaked:\n${shown}`);
  });

  it("leaves the image's own env out: PATH is not the app's and does not show as removed", () => {
    const lines = diffApp(running, desired);
    assert.ok(!lines.some((l) => l.text.includes('PATH')), text(formatDiff(lines)));
    assert.ok(!diffApp(running, undefined).some((l) => l.text.includes('PATH')));
  });

  it('still compares a key the manifest names, even when the image sets it too', () => {
    const appEnv = { API_KEY: SECRET, OLD_SETTING: 'on', NODE_ENV: 'production' };
    const envLines = (env: Record<string, string>) => formatDiff(diffApp(running, { ...running, imageEnv: {}, env }));
    assert.deepEqual(envLines({ ...appEnv, PATH: '/opt/bin' }), ['  ~ env       PATH: (value changed)']);
    assert.deepEqual(envLines({ ...appEnv, PATH }), []);
  });

  it("a running env entry that differs from the image default is the app's", () => {
    const overridden = { ...running, env: { ...running.env, PATH: '/app/bin' } };
    assert.ok(diffApp(overridden, desired).some((l) => l.change === '-' && l.text === 'PATH'));
  });

  it('a new app (nothing runs) shows everything as added', () => {
    assert.deepEqual(formatDiff(diffApp(undefined, desired)), [
      '  + image     example/web:v2',
      '  + env       API_KEY',
      '  + env       NEW_FLAG',
      '  + env       NODE_ENV',
      '  + ports     8080/tcp: 127.0.0.1:9000',
      '  + replicas  2',
    ]);
  });

  it('an app whose manifest is gone shows its own fields as removed', () => {
    assert.deepEqual(formatDiff(diffApp(running, undefined)), [
      '  - image     example/web:v1',
      '  - env       API_KEY',
      '  - env       NODE_ENV',
      '  - env       OLD_SETTING',
      '  - ports     8080/tcp: 127.0.0.1:*',
      '  - replicas  1',
    ]);
  });

  it('nothing changed gives no lines', () => {
    const same: AppShape = {
      image: { ref: 'example/web:v1', id: V1 },
      env: { API_KEY: SECRET, OLD_SETTING: 'on', NODE_ENV: 'production' },
      ports: running.ports,
      replicas: 1,
    };
    assert.deepEqual(diffApp(running, same), []);
  });

  it('only a scale: one replicas line', () => {
    assert.deepEqual(formatDiff(diffApp({ ...running, replicas: 3 }, { ...running, imageEnv: {}, replicas: 1 })), [
      '  ~ replicas  3 -> 1',
    ]);
  });

  it('ports are compared per container port and protocol; added, removed and rebound ones each get a line', () => {
    const before: AppShape = {
      ...running,
      ports: [
        { container: 8080, hostIp: '127.0.0.1', protocol: 'tcp' },
        { container: 53, host: 5353, hostIp: '0.0.0.0', protocol: 'udp' },
      ],
    };
    const after: AppShape = {
      ...before,
      imageEnv: {},
      env: { API_KEY: SECRET, OLD_SETTING: 'on', NODE_ENV: 'production' },
      ports: [
        { container: 8080, hostIp: '127.0.0.1', protocol: 'tcp' },
        { container: 8080, host: 8443, hostIp: '::1', protocol: 'tcp' },
        { container: 9090, hostIp: '127.0.0.1', protocol: 'tcp' },
      ],
    };
    assert.deepEqual(formatDiff(diffApp(before, after)), [
      '  - ports     53/udp: 0.0.0.0:5353',
      '  ~ ports     8080/tcp: 127.0.0.1:* -> 127.0.0.1:*, [::1]:8443',
      '  + ports     9090/tcp: 127.0.0.1:*',
    ]);
  });

  it('a moved tag (same name, another image) shows the image ids', () => {
    assert.deepEqual(
      formatDiff(
        diffApp(running, {
          ...running,
          imageEnv: {},
          env: { API_KEY: SECRET, OLD_SETTING: 'on', NODE_ENV: 'production' },
          image: { ref: 'example/web:v1', id: V2 },
        }),
      ),
      ['  ~ image     example/web:v1 (aaaaaaaaaaaa) -> example/web:v1 (bbbbbbbbbbbb)'],
    );
  });

  it('an image berth cannot name shows its short id, and no line when it is the wanted image', () => {
    const unnamed = { ...running, image: { id: V1 } };
    const wanted = { ...running, imageEnv: {}, env: { API_KEY: SECRET, OLD_SETTING: 'on', NODE_ENV: 'production' } };
    assert.deepEqual(diffApp(unnamed, wanted), []);
    assert.deepEqual(formatDiff(diffApp(unnamed, { ...wanted, image: { ref: 'example/web:v2', id: V2 } })), [
      '  ~ image     aaaaaaaaaaaa -> example/web:v2',
    ]);
  });
});
