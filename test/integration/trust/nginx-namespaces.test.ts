import { strict as assert } from 'node:assert';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderServerBlock } from '../../../src/proxy/nginx-config.js';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage, uniqueNamespace } from '../../support/docker.js';
import { PrivateNginx } from '../../support/nginx.js';
import { Scenario } from '../../support/scenario.js';

/**
 * Two namespaces on one nginx, `<ns>` and `<ns>-eu` (as `prod` and `prod-eu`), whose apps
 * `eu-web` and `web` had one file name before (`berth-<ns>-eu-web.conf`). Each berth serves its
 * own app and never touches the other's route; a domain one of them (or a vhost berth did not
 * write) serves is refused to the other, which says so; blocks of the old naming are renamed at
 * start by their header, never another namespace's.
 */
describe('two namespaces on one nginx (real engine, real nginx)', function () {
  this.timeout(120_000);
  let nginx: PrivateNginx;
  let prod: Scenario;
  let prodEu: Scenario;
  let prodBerth: BerthProcess;
  let prodEuBerth: BerthProcess;
  const spec = (domains: string[]) => ({
    tag: 'v1',
    domains,
    checks: { http: [{ path: '/health', content: 'ok', wait: 0, attempts: 20, timeout: 1 }] },
    deploy: { retireAfter: 1 },
  });
  const body = async (host: string) => (await nginx.get(host)).body;
  const served = (host: string, expected: string) =>
    eventually(async () => (await body(host)) === expected, 30_000, `nginx to serve "${expected}" for ${host}`);
  const files = async () => (await readdir(nginx.confDir)).sort();
  const statusOf = async (world: Scenario, app: string) => (await world.status()).find((s) => s.app === app);
  /** A block as the previous version wrote it: this version's text with the old upstream name, under the old file name. */
  const writeOldBlock = async (namespace: string, app: string, domains: string[], endpoints: string[]) => {
    const text = renderServerBlock({ namespace, app, listen: `127.0.0.1:${nginx.port}`, domains, endpoints })
      .split(`berth.${namespace}.${app}`)
      .join(`berth_${namespace}_${app}`.replace(/[^A-Za-z0-9_]/g, '_'));
    const file = join(nginx.confDir, `berth-${namespace}-${app}.conf`);
    await writeFile(file, text);
    return { file, text };
  };
  let prodOld: { file: string; text: string };
  let prodEuOld: { file: string; text: string };

  before(async () => {
    const namespace = uniqueNamespace();
    [nginx, prod, prodEu] = await Promise.all([
      PrivateNginx.start(),
      Scenario.create(namespace),
      Scenario.create(`${namespace}-eu`),
    ]);
    await Promise.all([
      buildTestImage(`${prod.namespace}/eu-web`, 'v1', { body: 'prod eu-web' }),
      buildTestImage(`${prodEu.namespace}/web`, 'v1', { body: 'prod-eu web' }),
    ]);
    // Left by the previous version: prod's eu-web (with an upstream), and prod-eu's api, whose old name also reads as prod's app `eu-api`.
    prodOld = await writeOldBlock(prod.namespace, 'eu-web', ['eu-web.test'], ['127.0.0.1:9']);
    prodEuOld = await writeOldBlock(prodEu.namespace, 'api', ['api.eu.test'], []);
    assert.ok(prodOld.text.includes(`upstream berth_${prod.namespace}_eu_web {`));
    await prod.writeManifest('eu-web', spec(['eu-web.test', 'shared.test']));
    await prodEu.writeManifest('web', spec(['web.test']));
  });
  after(async () => {
    await Promise.all([prod?.cleanup(), prodEu?.cleanup()]);
    await nginx?.stop();
  });

  it("renames this namespace's old-named block at start by its header, and leaves the other namespace's old-named file alone", async () => {
    prodBerth = prod.start(nginx.berthFlags());
    await served('eu-web.test', 'prod eu-web');
    assert.deepEqual(
      await files(),
      [`berth-${prod.namespace}-eu-api.conf`, `berth.${prod.namespace}.eu-web.conf`],
      'no file of the old name left beside the new one',
    );
    assert.equal(await readFile(prodEuOld.file, 'utf8'), prodEuOld.text, "prod-eu's old file, untouched by prod");
    assert.ok(
      prodBerth.logs.some((l) =>
        /^Renamed the nginx server blocks of namespace \S+ to the new naming: .*berth-\S+-eu-web\.conf -> .*berth\.\S+\.eu-web\.conf; reloaded nginx$/.test(
          l.msg,
        ),
      ),
    );
    const block = await readFile(join(nginx.confDir, `berth.${prod.namespace}.eu-web.conf`), 'utf8');
    assert.match(block, new RegExp(`upstream berth\\.${prod.namespace}\\.eu-web \\{`));
    assert.doesNotMatch(block, /berth_/);

    // prod-eu renames its own old block at its start (then drops it: it has no manifest for api).
    prodEuBerth = prodEu.start(nginx.berthFlags());
    await served('web.test', 'prod-eu web');
    await prodEuBerth.waitForLog((l) =>
      /^Renamed the nginx server blocks of namespace \S+ to the new naming: .*berth-\S+-eu-api\.conf -> .*berth\.\S+-eu\.api\.conf/.test(
        l.msg,
      ),
    );
    await eventually(
      async () =>
        (await files()).join(' ') === `berth.${prodEu.namespace}.web.conf berth.${prod.namespace}.eu-web.conf`,
      30_000,
      'the two blocks, each under its own name',
    );
    assert.equal(await body('eu-web.test'), 'prod eu-web');
  });

  it("a pass of one namespace never removes the other's route", async () => {
    const prodEuBlock = await readFile(join(nginx.confDir, `berth.${prodEu.namespace}.web.conf`), 'utf8');
    assert.equal(await prodBerth.stop(), 0);
    // A whole pass of prod: everything it routes is judged against its manifests.
    await prod.writeManifest('eu-web', spec(['eu-web.test', 'shared.test']));
    const pass = await prod.cli(['run', '--manifests', prod.manifests, '--once', ...nginx.berthFlags()]);
    assert.equal(pass.code, 0, pass.stdout + pass.stderr);
    assert.equal(await readFile(join(nginx.confDir, `berth.${prodEu.namespace}.web.conf`), 'utf8'), prodEuBlock);
    assert.equal(await body('web.test'), 'prod-eu web');
    assert.equal(await body('eu-web.test'), 'prod eu-web');
    prodBerth = prod.start(nginx.berthFlags());
    await prodBerth.waitForLog((l) => l.step === 'ready');
  });

  it('a domain the other namespace serves stays with it; the newcomer is refused with a message naming the domain and its holder', async () => {
    assert.equal(await body('shared.test'), 'prod eu-web');
    const prodEuFile = join(nginx.confDir, `berth.${prodEu.namespace}.web.conf`);
    const before = await readFile(prodEuFile, 'utf8');
    // prod-eu's file sorts before prod's: were its block taken, nginx would serve prod-eu for shared.test.
    assert.ok(`berth.${prodEu.namespace}.web.conf` < `berth.${prod.namespace}.eu-web.conf`);
    await prodEu.writeManifest('web', spec(['web.test', 'shared.test']));
    const refused = await eventually(
      async () => {
        const status = await statusOf(prodEu, 'web');
        return /shared\.test/.test(status?.lastError ?? '') ? status : undefined;
      },
      60_000,
      'prod-eu to report the domain',
    );
    const holderFile = join(nginx.confDir, `berth.${prod.namespace}.eu-web.conf`);
    assert.equal(
      refused?.lastError,
      `domain shared.test is also served by app eu-web of namespace ${prod.namespace} (${holderFile}), which keeps it; the nginx block of web is left as it was`,
    );
    assert.equal(await readFile(prodEuFile, 'utf8'), before, "prod-eu's block is the one it had");
    assert.equal(await body('shared.test'), 'prod eu-web', 'the holder keeps serving');
    assert.equal(await body('web.test'), 'prod-eu web');
    assert.ok(
      prodEuBerth.logs.some(
        (l) =>
          l.app === 'web' && l.level >= 50 && String(l.msg).includes('domain shared.test is also served by app eu-web'),
      ),
    );
    await prodEu.writeManifest('web', spec(['web.test']));
    await eventually(
      async () => (await statusOf(prodEu, 'web'))?.phase === 'Running',
      60_000,
      'prod-eu Running again once it gives the domain up',
    );
  });

  it('a domain a vhost berth did not write serves is a conflict too: the vhost keeps it', async () => {
    const vhost = join(nginx.confDir, 'shop.conf');
    await writeFile(
      vhost,
      `server {\n    listen 127.0.0.1:${nginx.port};\n    server_name shop.test;\n    location / { return 200 "hand-written"; }\n}\n`,
    );
    await nginx.reload();
    await served('shop.test', 'hand-written');
    const prodFile = join(nginx.confDir, `berth.${prod.namespace}.eu-web.conf`);
    const before = await readFile(prodFile, 'utf8');
    // berth's file sorts before shop.conf: were its block taken, nginx would serve berth's for shop.test.
    await prod.writeManifest('eu-web', spec(['eu-web.test', 'shared.test', 'shop.test']));
    const refused = await eventually(
      async () => {
        const status = await statusOf(prod, 'eu-web');
        return /shop\.test/.test(status?.lastError ?? '') ? status : undefined;
      },
      60_000,
      'prod to report the domain',
    );
    assert.equal(
      refused?.lastError,
      `domain shop.test is also served by a server block berth did not write (nginx -t: conflicting server name "shop.test" on 127.0.0.1:${nginx.port}), which keeps it; the nginx block of eu-web is left as it was`,
    );
    assert.equal(await readFile(prodFile, 'utf8'), before);
    assert.equal(await body('shop.test'), 'hand-written');
    assert.equal(await body('eu-web.test'), 'prod eu-web');
    await prod.writeManifest('eu-web', spec(['eu-web.test', 'shared.test']));
    await eventually(async () => (await statusOf(prod, 'eu-web'))?.phase === 'Running', 60_000, 'prod Running again');
    await rm(vhost);
    assert.equal(await prodBerth.stop(), 0);
    assert.equal(await prodEuBerth.stop(), 0);
  });
});
