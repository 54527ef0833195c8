/**
 * Image automation end to end, with berth run as users run it: a real `docker-registry` on
 * loopback whose own notifications (its `notifications.endpoints` config) reach berth's
 * `POST /hooks/registry`, and a manifest directory berth writes the new tag back into. The policy
 * adopts the newest matching tag, a push is written and serving within seconds through the
 * webhook (the interval is an hour), a person's rollback is never fought, and a newer tag after it
 * is adopted. Then a registry that is down, one that answers 429, minAge and a pattern sorted
 * numerically, each against the real parts.
 */
import { strict as assert } from 'node:assert';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { BerthEvent } from '../../../src/events/types.js';
import { eventually, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage, httpGet } from '../../support/docker.js';
import { git, GitRepo } from '../../support/git-server.js';
import { freePort } from '../../support/nginx.js';
import { PrivateRegistry, pushTo } from '../../support/registry.js';
import { Scenario } from '../../support/scenario.js';

const SECRET = 'registry-hook-Qm41-secret';

describe('image automation: a policy follows a real registry, writes the tag back, never fights a rollback', function () {
  this.timeout(180_000);
  let world: Scenario;
  let registry: PrivateRegistry;
  let berth: BerthProcess;
  let listen: number;
  let repository: string;
  let manifestFile: string;

  const web = async () => (await world.status()).find((a) => a.app === 'web');
  const writtenTag = async () => /^\s+tag: '?([^'\s]+)'?$/m.exec(await readFile(manifestFile, 'utf8'))?.[1];
  /** An image per version: its page says which, so a deploy of each is a new image. */
  const publish = async (version: string) => {
    const local = await buildTestImage(`${world.namespace}/web`, version, { body: `web ${version}` });
    await pushTo(registry.address, local, `${world.namespace}/web`, version);
  };
  const serving = async () => {
    const running = (await world.running('web')).filter((c) => c.port !== undefined);
    return running.length === 1 ? (await httpGet(running[0]!.port!, '/')).body : undefined;
  };
  const timeline = async () => JSON.parse((await world.cli(['events', '--json'])).stdout) as BerthEvent[];
  const hook = (authorization: string | undefined, body: unknown) =>
    fetch(`http://127.0.0.1:${listen}/hooks/registry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
    });

  before(async () => {
    world = await Scenario.create();
    listen = await freePort();
    registry = await PrivateRegistry.start(undefined, {
      notify: { url: `http://127.0.0.1:${listen}/hooks/registry`, authorization: `Bearer ${SECRET}` },
    });
    repository = `${registry.address}/${world.namespace}/web`;
    for (const version of ['1.0.0', '1.1.0', '1.2.0-rc.1', '2.0.0']) await publish(version);
    const secretFile = join(world.root, 'registry-hook.secret');
    await writeFile(secretFile, `${SECRET}\n`);
    await chmod(secretFile, 0o600);
    manifestFile = await world.writeManifest('web', {
      image: repository,
      tag: '1.0.0',
      checks: { wait: 0 },
      imagePolicy: { semver: '^1', interval: 3600 },
    });
    await chmod(manifestFile, 0o640);
    berth = world.start(['--listen', `127.0.0.1:${listen}`, '--registry-webhook-secret-file', secretFile]);
  });
  after(async () => {
    await world.cleanup();
    await registry.stop();
  });

  it('adopts the newest tag of the range at its first look (no pre-release, not 2.0.0), in place, and it deploys', async () => {
    const before = await stat(manifestFile);
    await eventually(async () => (await writtenTag()) === '1.1.0', 30_000, 'the manifest to say 1.1.0');
    const after = await stat(manifestFile);
    assert.equal(after.mode & 0o777, before.mode & 0o777, 'the file keeps its mode');
    assert.equal(after.uid, before.uid, 'the file keeps its owner');
    assert.match(await readFile(manifestFile, 'utf8'), /imagePolicy:/, 'the rest of the manifest stays');
    await eventually(async () => (await serving()) === 'web 1.1.0', 60_000, 'web 1.1.0 serving');
    const status = await web();
    assert.equal(status?.imagePolicy?.policy, 'semver ^1');
    assert.equal(status?.imagePolicy?.newest, '1.1.0');
    const updated = (await timeline()).filter((e) => e.type === 'image.updated');
    assert.equal(updated.length, 1);
    assert.deepEqual(
      { from: updated[0]!.details.from, to: updated[0]!.details.to, policy: updated[0]!.details.policy },
      { from: '1.0.0', to: '1.1.0', policy: 'semver ^1' },
    );
  });

  it("a push reaches berth through the registry's own notification: written and serving within seconds", async () => {
    const pushed = Date.now();
    await publish('1.1.1');
    await eventually(async () => (await writtenTag()) === '1.1.1', 20_000, 'the manifest to say 1.1.1');
    await eventually(async () => (await serving()) === 'web 1.1.1', 30_000, 'web 1.1.1 serving');
    // The interval is an hour: only the webhook can have woken the policy.
    assert.ok(Date.now() - pushed < 45_000);
    assert.ok(berth.logs.some((l) => l.source === 'webhook' && String(l.msg).includes('registry webhook')));
  });

  it('refuses a webhook without the secret, and a body of no known shape', async () => {
    const refused = await hook(undefined, { events: [] });
    assert.equal(refused.status, 401);
    const wrong = await hook('Bearer not-the-secret', { events: [] });
    assert.equal(wrong.status, 401);
    const junk = await hook(`Bearer ${SECRET}`, { hello: 'world' });
    assert.equal(junk.status, 400);
  });

  it('a person moves the tag back to 1.0.0: it stays there while only 1.1.1 exists; 1.1.2 pushed is adopted', async () => {
    const text = await readFile(manifestFile, 'utf8');
    await writeFile(manifestFile, text.replace(/tag: '?1\.1\.1'?/, 'tag: 1.0.0'));
    await eventually(async () => (await serving()) === 'web 1.0.0', 60_000, 'web 1.0.0 serving');
    // A look now (as a push of anything would wake it): the rollback is seen and respected.
    const woken = await hook(`Bearer ${SECRET}`, {
      events: [{ action: 'push', target: { repository: `${world.namespace}/web`, tag: '1.1.1' } }],
    });
    assert.equal(woken.status, 202);
    await eventually(
      async () => (await web())?.imagePolicy?.floor === '1.1.1',
      20_000,
      'the policy to wait for a tag newer than 1.1.1',
    );
    assert.match((await web())?.imagePolicy?.waiting ?? '', /1\.1\.1/);
    assert.equal(await writtenTag(), '1.0.0');
    assert.equal(await serving(), 'web 1.0.0');

    await publish('1.1.2');
    await eventually(async () => (await writtenTag()) === '1.1.2', 20_000, 'the manifest to say 1.1.2');
    await eventually(async () => (await serving()) === 'web 1.1.2', 30_000, 'web 1.1.2 serving');
    assert.equal((await web())?.imagePolicy?.floor, null, 'the floor is gone once a tag past it is written');
  });

  it('a registry that is down leaves the tag, says why in status and one image.policy_failed event; it recovers', async () => {
    await registry.pause();
    try {
      await hook(`Bearer ${SECRET}`, {
        events: [{ action: 'push', target: { repository: `${world.namespace}/web`, tag: 'x' } }],
      });
      const failing = await eventually(
        async () => {
          const policy = (await web())?.imagePolicy;
          return policy?.error ? policy : undefined;
        },
        30_000,
        'the policy to report the registry down',
      );
      assert.match(failing.error!, new RegExp(registry.address.replace(/[.:]/g, '\\$&')));
      const failed = (await timeline()).filter((e) => e.type === 'image.policy_failed');
      assert.equal(failed.length, 1);
      assert.equal(failed[0]!.details.tag, '1.1.2');
      assert.equal(await writtenTag(), '1.1.2');
      assert.equal(await serving(), 'web 1.1.2');
    } finally {
      await registry.resume();
    }
    await hook(`Bearer ${SECRET}`, {
      events: [{ action: 'push', target: { repository: `${world.namespace}/web`, tag: 'x' } }],
    });
    await eventually(async () => (await web())?.imagePolicy?.error === null, 30_000, 'the policy to recover');
  });

  it('berth plan shows what a look would write, and /metrics counts looks and updates', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${listen}/metrics`)).text();
    assert.match(metrics, /berth_image_policy_looks_total\{repository="[^"]+",result="ok"\} [1-9]/);
    assert.match(metrics, /berth_image_policy_updates_total\{app="web",result="written"\} 3/);
    assert.equal(await berth.stop(), 0);
    await publish('1.2.0');
    const plan = await world.cli(['plan', '--manifests', world.manifests]);
    assert.match(plan.stdout, /1\.2\.0 available \(semver \^1\): would write tag/);
    assert.equal(await writtenTag(), '1.1.2', 'plan writes nothing');
  });
});

describe('image automation against hostile and slow registries, minAge and patterns', function () {
  this.timeout(120_000);
  let world: Scenario;
  let registry: PrivateRegistry;
  let limited: Server;
  let limitedAnswers = 0;

  before(async () => {
    world = await Scenario.create();
    registry = await PrivateRegistry.start();
    // A registry that answers every request 429, asking for a minute.
    limited = createServer((request, response) => {
      // The engine's pull attempts of the app's tag land here too; only tag lists are looks.
      if (request.url?.includes('/tags/list')) limitedAnswers++;
      response.writeHead(429, { 'retry-after': '60', 'content-type': 'application/json' }).end('{"errors":[]}');
    });
    await new Promise<void>((resolve) => limited.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await world.cleanup();
    await registry.stop();
    await new Promise((resolve) => limited.close(resolve));
  });

  it('a pattern sorts its key numerically (main-10 after main-9), minAge holds a new tag back, and 429 is honoured', async () => {
    const base = await buildTestImage(`${world.namespace}/app`, 'base');
    for (const tag of ['main-9-abcdef0', 'main-10-1234567', 'feature-99-0000000'])
      await pushTo(registry.address, base, `${world.namespace}/app`, tag);
    const limitedRepository = `127.0.0.1:${(limited.address() as { port: number }).port}/${world.namespace}/other`;
    await world.writeManifest('numbered', {
      image: `${registry.address}/${world.namespace}/app`,
      tag: 'main-9-abcdef0',
      checks: { wait: 0 },
      imagePolicy: { pattern: '^main-(?P<key>[0-9]+)-[0-9a-f]{7}$', order: 'numerical', interval: 3600 },
    });
    await world.writeManifest('matures', {
      image: `${registry.address}/${world.namespace}/app`,
      tag: 'main-9-abcdef0',
      checks: { wait: 0 },
      imagePolicy: { pattern: '^main-(?P<key>[0-9]+)-[0-9a-f]{7}$', interval: 3600, minAge: 3600 },
    });
    await world.writeManifest('limited', {
      image: limitedRepository,
      tag: '1.0.0',
      checks: { wait: 0 },
      imagePolicy: { semver: '^1', interval: 5 },
    });
    const berth = world.start();
    const policy = async (app: string) => (await world.status()).find((a) => a.app === app)?.imagePolicy;
    await eventually(
      async () => (await readFile(join(world.manifests, 'numbered.yaml'), 'utf8')).includes('tag: main-10-1234567'),
      30_000,
      'numbered to follow main-10',
    );
    const matures = await eventually(async () => (await policy('matures'))?.waiting ?? undefined, 30_000, 'matures');
    assert.match(matures, /main-10-1234567 matures at .*minAge 3600s/);
    assert.ok((await readFile(join(world.manifests, 'matures.yaml'), 'utf8')).includes('tag: main-9-abcdef0'));
    const limitedPolicy = await eventually(async () => (await policy('limited'))?.error ?? undefined, 30_000, '429');
    assert.match(limitedPolicy, /429/);
    // Asked to wait 60 s, berth does not look again at its 5 s interval.
    const answered = limitedAnswers;
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    assert.equal(limitedAnswers, answered, 'no look within the Retry-After');
    assert.equal(await berth.stop(), 0);
  });
});

describe('image automation with --git: a commit pushed to the followed branch, or a proposal on --git-push-branch', function () {
  this.timeout(180_000);
  let world: Scenario;
  let registry: PrivateRegistry;
  let repo: GitRepo;
  const manifestText = (tag: string) =>
    world.manifest('web', {
      image: `${registry.address}/${world.namespace}/web`,
      tag,
      checks: { wait: 0 },
      imagePolicy: { semver: '^1', interval: 3600 },
    });
  const publish = async (version: string) => {
    const local = await buildTestImage(`${world.namespace}/web`, version, { body: `web ${version}` });
    await pushTo(registry.address, local, `${world.namespace}/web`, version);
  };
  const head = (branch: string, format: string) => git(['log', '-1', `--format=${format}`, branch], repo.bare);
  const fileAt = (branch: string) => git(['show', `${branch}:apps/web.yaml`], repo.bare);

  before(async () => {
    world = await Scenario.create();
    registry = await PrivateRegistry.start();
    repo = await GitRepo.create();
    for (const version of ['1.0.0', '1.1.0']) await publish(version);
    await repo.commit({ 'apps/web.yaml': manifestText('1.0.0'), README: 'deploys\n' }, 'web at 1.0.0');
  });
  after(async () => {
    await world.cleanup();
    await registry.stop();
    await repo.remove();
  });

  it('commits the new tag as --git-author with a message naming app, from, to and policy, pushes it to the branch, and deploys it', async () => {
    const berth = world.start([
      '--git',
      repo.fileUrl,
      '--git-path',
      'apps',
      '--git-interval',
      '3600',
      '--git-author',
      'Deploy Bot <deploy-bot@example.com>',
    ]);
    await eventually(async () => (await head('main', '%s')) === 'berth: web 1.0.0 -> 1.1.0', 30_000, 'the commit');
    assert.equal(
      await head('main', '%an <%ae>|%cn <%ce>'),
      'Deploy Bot <deploy-bot@example.com>|Deploy Bot <deploy-bot@example.com>',
    );
    assert.match(await head('main', '%b'), /semver \^1/);
    assert.match(await fileAt('main'), /tag: 1\.1\.0/);
    assert.equal(
      await head('main^', '%s'),
      'web at 1.0.0',
      "berth's commit is on top of the branch, nothing rewritten",
    );
    // The source fetches at once: the deploy follows within seconds, the interval being an hour.
    await eventually(
      async () => (await world.status()).find((a) => a.app === 'web')?.running.tag === '1.1.0',
      60_000,
      'web 1.1.0 running',
    );
    const commit = (await world.status()).find((a) => a.app === 'web')?.imagePolicy?.written?.commit;
    assert.equal(commit, await head('main', '%H'));
    assert.equal(await berth.stop(), 0);
  });

  it('with --git-push-branch, proposes on that branch and leaves the followed branch alone; the same proposal is not pushed twice', async () => {
    const mainBefore = await head('main', '%H');
    await publish('1.2.0');
    const berth = world.start([
      '--git',
      repo.fileUrl,
      '--git-path',
      'apps',
      '--git-interval',
      '3600',
      '--git-push-branch',
      'berth/updates',
    ]);
    await eventually(
      async () => (await head('berth/updates', '%s').catch(() => '')) === 'berth: web 1.1.0 -> 1.2.0',
      30_000,
      'the proposal',
    );
    const proposal = await head('berth/updates', '%H');
    assert.match(await fileAt('berth/updates'), /tag: 1\.2\.0/);
    assert.equal(await head('main', '%H'), mainBefore, 'the followed branch did not move');
    const status = await eventually(
      async () => (await world.status()).find((a) => a.app === 'web')?.imagePolicy?.waiting ?? undefined,
      10_000,
      'the policy to say it proposed',
    );
    assert.match(status, /1\.2\.0 proposed on branch berth\/updates/);
    assert.equal(
      (await world.status()).find((a) => a.app === 'web')?.running.tag,
      '1.1.0',
      'nothing deploys before the merge',
    );
    assert.equal(await berth.stop(), 0);
    // A berth started again looks again: the same proposal is not pushed again.
    const again = world.start(['--git', repo.fileUrl, '--git-path', 'apps', '--git-push-branch', 'berth/updates']);
    await again.waitForLog((l) => l.source === 'images' || l.step === 'ready', 30_000);
    await eventually(
      async () => (await world.status()).find((a) => a.app === 'web')?.imagePolicy?.lastLookAt !== null,
      30_000,
      'a look',
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(await head('berth/updates', '%H'), proposal);
    assert.equal(await again.stop(), 0);
  });
});
