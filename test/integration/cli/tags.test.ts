import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../../support/berth-process.js';
import { buildTestImage, httpGet } from '../../support/docker.js';
import { Scenario } from '../../support/scenario.js';

describe('berth tags, tags:create, tags:destroy, tags:deploy, history (real engine)', function () {
  this.timeout(90_000);
  let world: Scenario;

  beforeEach(async () => {
    world = await Scenario.create();
  });
  afterEach(async () => world.cleanup());

  const oneLineError = (stderr: string, pattern: RegExp) => {
    assert.match(stderr, pattern);
    assert.equal(stderr.trim().split('\n').length, 1, `one line: ${stderr}`);
  };

  it('tags lists the repository with the running tag marked; tags:create and tags:destroy add and remove tags, refusing what would strand the app', async () => {
    const ids = {
      v1: await buildTestImage(`${world.namespace}/web`, 'v1'),
      spare: await buildTestImage(`${world.namespace}/web`, 'spare'),
    };
    await world.writeManifest('web', { tag: 'v1', checks: { wait: 0 } });
    world.start();
    await eventually(
      async () => (await world.status()).find((s) => s.app === 'web' && s.phase === 'Running'),
      30_000,
      'web Running',
    );

    const listing = await world.cli(['tags', 'web']);
    assert.equal(listing.code, 0, listing.stderr);
    const lines = listing.stdout.trim().split('\n');
    assert.equal(lines[0], `=====> Image tags for ${world.namespace}/web`);
    assert.match(lines[1]!, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s+RUNNING$/);
    const row = (tag: string) => lines.find((l) => l.split(/\s+/)[1] === tag);
    assert.match(
      row('v1')!,
      new RegExp(`^${world.namespace}/web\\s+v1\\s+${ids.v1.slice(7, 19)}\\s+.*ago\\s+[\\d.]+[kM]?B\\s+\\*$`),
    );
    assert.ok(row('latest') && !row('latest')!.endsWith('*'), 'latest points at v1 too, but v1 is the tag that runs');
    assert.ok(row('spare') && !row('spare')!.endsWith('*'));

    const created = await world.cli(['tags:create', 'web', 'release-1']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, new RegExp(`Added release-1 tag to ${world.namespace}/web`));
    assert.equal(await world.imageId(world.image('web', 'release-1')), ids.v1, 'the image that runs now');
    oneLineError((await world.cli(['tags:create', 'web', 'bad;tag'])).stderr, /"bad;tag" is not a valid Docker tag/);
    const moved = await world.cli(['tags:create', 'web', 'spare']);
    assert.equal(moved.code, 1);
    oneLineError(moved.stderr, /already exists .* pass --force to move it/);

    for (const [tag, why] of [
      ['latest', /latest points at the deployed image/],
      ['v1', /pins it/],
      ['nope', /no tag/],
    ] as const) {
      const refused = await world.cli(['tags:destroy', 'web', tag]);
      assert.equal(refused.code, 1, `tags:destroy ${tag}`);
      oneLineError(refused.stderr, why);
    }
    assert.equal(await world.imageId(world.image('web', 'v1')), ids.v1);
    for (const tag of ['release-1', 'spare']) {
      const destroyed = await world.cli(['tags:destroy', 'web', tag]);
      assert.equal(destroyed.code, 0, destroyed.stderr);
      assert.equal(await world.imageId(world.image('web', tag)), undefined, `${tag} removed`);
    }
    assert.equal((await world.running('web'))[0]?.imageId, ids.v1, 'still running');
  });

  it('tags:deploy sets spec.tag in place (comments kept) and --wait reports the outcome; history lists every deploy', async () => {
    const ids = {
      v1: await buildTestImage(`${world.namespace}/web`, 'v1'),
      v2: await buildTestImage(`${world.namespace}/web`, 'v2'),
      broken: await buildTestImage(`${world.namespace}/web`, 'broken', { extraFiles: { health: 'sick' } }),
    };
    const file = join(world.manifests, 'web.yaml');
    const original = [
      '# The public site. Owned by team-a; ask in #web before rolling back.',
      'apiVersion: berth/v1',
      'kind: App',
      'metadata:',
      '  name: web',
      'spec:',
      '  tag: v1        # CI bumps this line',
      '  ports:',
      '    - container: 8080',
      '  checks:',
      '    http:',
      // A second behind the start: the engine's port proxy accepts before the httpd listens.
      '      - { path: /health, content: ok, attempts: 2, wait: 1, timeout: 2 }',
      '  deploy: { retireAfter: 0 }',
      '',
    ].join('\n');
    await writeFile(file, original);
    world.start();
    await eventually(async () => (await world.running('web'))[0]?.imageId === ids.v1, 30_000, 'v1 running');

    const deployed = await world.cli(['tags:deploy', 'web', 'v2', '--manifests', world.manifests, '--wait']);
    assert.equal(deployed.code, 0, deployed.stderr + deployed.stdout);
    assert.match(deployed.stdout, /spec\.tag v1 -> v2/);
    assert.match(deployed.stdout, /Application deployed: web/);
    assert.equal(await readFile(file, 'utf8'), original.replace('tag: v1 ', 'tag: v2 '), 'only the tag changed');
    const [running] = await world.running('web');
    assert.equal(running?.imageId, ids.v2);
    assert.equal((await httpGet(running!.port!)).body, `${world.namespace}/web:v2`);

    const missing = await world.cli(['tags:deploy', 'web', 'v9', '--manifests', world.manifests]);
    assert.equal(missing.code, 1);
    oneLineError(
      missing.stderr,
      new RegExp(
        `no image ${world.namespace}/web:v9 on this host; ${world.namespace}/web has broken, latest, previous, v1, v2`,
      ),
    );
    assert.equal(
      await readFile(file, 'utf8'),
      original.replace('tag: v1 ', 'tag: v2 '),
      'nothing written for a missing tag',
    );

    const failed = await world.cli(['tags:deploy', 'web', 'broken', '--manifests', world.manifests, '--wait']);
    assert.equal(failed.code, 1, failed.stdout);
    oneLineError(failed.stderr, /deploying .*web:broken failed: Degraded: deploy failed: .*health/);
    assert.equal((await world.running('web'))[0]?.imageId, ids.v2, 'v2 keeps serving');

    const history = await world.cli(['history', 'web']);
    assert.equal(history.code, 0, history.stderr);
    // The failed tag is retried with backoff, so it may have failed more than once by now.
    const rows = history.stdout.trim().split('\n').slice(1);
    const tags = rows.map((r) => /web:(\S+)/.exec(r)?.[1]);
    assert.deepEqual(
      tags.filter((t) => t !== 'broken'),
      ['v2', 'v1'],
    );
    assert.equal(tags[0], 'broken', 'newest first');
    assert.match(rows[0]!, /failed\s+[\d.]+s\s+deploy failed/);
    assert.match(
      rows.find((r) => r.includes('web:v2'))!,
      new RegExp(`^\\*\\s.*${ids.v2.slice(7, 19)}\\s+succeeded`),
      'v2 marked as serving',
    );
    const json = JSON.parse((await world.cli(['history', 'web', '--json'])).stdout) as {
      tag: string;
      imageId: string;
      outcome: string;
      serving: boolean;
    }[];
    assert.deepEqual(
      json.filter((h) => h.outcome === 'succeeded').map((h) => [h.tag, h.imageId, h.serving]),
      [
        ['v2', ids.v2, true],
        ['v1', ids.v1, false],
      ],
    );
    assert.ok(
      json
        .filter((h) => h.outcome === 'failed')
        .every((h) => h.tag === 'broken' && h.imageId === ids.broken && !h.serving),
    );
  });
});
