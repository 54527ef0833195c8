/**
 * `berth run --git`: berth follows a branch of a real repository served on loopback (file://,
 * `git daemon`, an SSH server with a deploy key), by polling and by signed webhooks, and records the
 * commit every deploy came from. Faults of the source never touch what runs.
 */
import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, runCli } from '../../support/berth-process.js';
import { buildTestImage, dockerCli } from '../../support/docker.js';
import { EventFile, expectEvents } from '../../support/event-sink.js';
import { GitDaemon, GitRepo, SshServer, signingKey } from '../../support/git-server.js';
import { freePort } from '../../support/nginx.js';
import { Scenario } from '../../support/scenario.js';
import type { BerthEvent } from '../../../src/events/types.js';

describe('berth run --git (real git servers on loopback)', function () {
  this.timeout(120_000);
  let world: Scenario;
  let repo: GitRepo;
  let scratch: string;
  /** Where `--notify-exec` puts the source's events (source.failed, source.recovered, source.diverged). */
  let sink: EventFile;
  const SECRET = 'webhook-secret-for-tests';

  before(async () => {
    world = await Scenario.create();
    repo = await GitRepo.create();
    scratch = await mkdtemp(join(tmpdir(), 'berth-git-test-'));
    sink = await EventFile.create();
    await writeFile(join(scratch, 'secret'), `${SECRET}\n`, { mode: 0o600 });
    for (const tag of ['v1', 'v2', 'v3', 'v4'])
      await buildTestImage(`${world.namespace}/web`, tag, { body: `web ${tag}` });
  });
  afterEach(async () => {
    await world.killProcesses();
  });
  after(async () => {
    await world.cleanup();
    await repo.remove();
    await rm(scratch, { recursive: true, force: true });
    await sink.remove();
  });

  const manifest = (tag: string) => ({ 'apps/web.yaml': world.manifest('web', { tag }) });
  const web = async () => (await world.status()).find((a) => a.app === 'web');
  const serving = (tag: string) =>
    eventually(
      async () => {
        const status = await web();
        return status?.running.tag === tag && status.phase === 'Running' ? status : undefined;
      },
      30_000,
      `web ${tag} Running`,
    );
  const timeline = async () => JSON.parse((await world.cli(['events', '--json'])).stdout) as BerthEvent[];
  const history = async () =>
    JSON.parse((await world.cli(['history', 'web', '--json'])).stdout) as {
      tag: string;
      outcome: string;
      commit?: { sha: string; subject: string; author: string };
    }[];

  it('follows a branch by polling: each commit deployed, the commit recorded in history, status, logs and plan', async () => {
    await repo.commit(manifest('v1'), 'add web at v1');
    const berth = world.start(['--git', repo.fileUrl, '--git-path', 'apps', '--git-interval', '1']);
    await serving('v1');
    const sha = await repo.commit(manifest('v2'), 'bump web to v2');
    const status = await serving('v2');
    assert.equal(status.commit?.sha, sha);
    assert.equal(status.commit?.subject, 'bump web to v2');
    const [last] = await history();
    assert.deepEqual([last?.tag, last?.commit?.sha, last?.commit?.author], ['v2', sha, 'Test Author']);
    assert.ok(
      berth.logs.some((l) => l.step === 'deployed' && l.msg.includes(`from ${sha.slice(0, 7)} 'bump web to v2'`)),
      'the deploy line names the commit',
    );
    const human = await world.cli(['status']);
    assert.match(
      human.stdout,
      new RegExp(`^source: git file://.*repo\\.git@main:apps at ${sha.slice(0, 7)} 'bump web to v2'$`, 'm'),
    );
    assert.equal(await berth.stop(), 0);
    const next = await repo.commit(manifest('v3'), 'bump web to v3');
    const plan = await world.cli(['plan', '--git', repo.fileUrl, '--git-path', 'apps']);
    assert.match(plan.stdout, new RegExp(`^commit ${next.slice(0, 7)} 'bump web to v3'`));
    assert.match(plan.stdout, /^web: deploy .*web:v3/m);
    const again = world.start(['--git', repo.fileUrl, '--git-path', 'apps', '--git-interval', '1']);
    await serving('v3');
    assert.equal(await again.stop(), 0);
  });

  it('takes signed push webhooks (GitHub, GitLab) and fetches at once; a bad signature gets 401, a push to another branch (form-encoded, as GitHub may send it) 202, and neither fetches', async () => {
    const daemon = await GitDaemon.start(repo);
    try {
      const listen = await freePort();
      const berth = world.start([
        '--git',
        daemon.url,
        '--git-path',
        'apps',
        '--git-interval',
        '3600',
        '--listen',
        `127.0.0.1:${listen}`,
        '--git-webhook-secret-file',
        join(scratch, 'secret'),
        ...sink.flags(),
      ]);
      await serving('v3');
      await berth.waitForLog((l) => l.step === 'ready', 30_000);
      await repo.commit(manifest('v4'), 'bump web to v4');
      const body = JSON.stringify({ ref: 'refs/heads/main', after: 'x' });
      const hook = (headers: Record<string, string>) =>
        fetch(`http://127.0.0.1:${listen}/hooks/git`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        });
      const forged = await hook({
        'x-hub-signature-256': `sha256=${createHmac('sha256', 'wrong').update(body).digest('hex')}`,
      });
      assert.equal(forged.status, 401);
      assert.equal((await hook({})).status, 401, 'no signature');
      // GitHub's other content type: the JSON in a form's payload field, signed over the form's bytes.
      const otherBranch = new URLSearchParams({
        payload: JSON.stringify({ ref: 'refs/heads/other', after: 'y' }),
      }).toString();
      const formHook = await fetch(`http://127.0.0.1:${listen}/hooks/git`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(otherBranch).digest('hex')}`,
        },
        body: otherBranch,
      });
      assert.deepEqual(
        [formHook.status, await formHook.json()],
        [202, { ignored: 'a push to refs/heads/other, not refs/heads/main' }],
      );
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.equal(
        (await web())?.running.tag,
        'v3',
        'nothing fetched on a refused hook, nor on a push to another branch',
      );
      assert.ok(
        !berth.logs.some((l) => l.source === 'webhook' && /fetching now/.test(l.msg)),
        'no webhook woke the source',
      );
      const pushed = Date.now();
      const signed = await hook({
        'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      });
      assert.equal(signed.status, 202);
      await berth.waitForLog((l) => l.source === 'git' && /^Fetched/.test(l.msg), 5_000);
      assert.ok(Date.now() - pushed < 2_000, `fetched ${Date.now() - pushed} ms after the webhook`);
      await serving('v4');

      // The remote gone: what runs stays, the source says what is wrong; back: it recovers.
      await daemon.stop();
      await repo.commit(manifest('v1'), 'back to v1');
      assert.equal((await hook({ 'x-gitlab-token': SECRET })).status, 202, 'a GitLab token is accepted');
      const failing = await eventually(
        async () => (await world.cli(['status'])).stdout.match(/^source: .*failing for .*$/m)?.[0],
        10_000,
        'the source failing in status',
      );
      assert.match(
        failing,
        /git:\/\/127\.0\.0\.1:\d+\/repo\.git@main:apps at [0-9a-f]{7} 'bump web to v4'; failing for \d+s: unable to connect to 127\.0\.0\.1.*Connection refused \(the last good tree stays\)$/,
      );
      assert.equal((await web())?.phase, 'Running');
      assert.equal(
        (await fetch(`http://127.0.0.1:${listen}/readyz`)).status,
        200,
        'a source error is no reason to be unready',
      );
      assert.match(await (await fetch(`http://127.0.0.1:${listen}/metrics`)).text(), /^berth_source_up 0$/m);
      const [failed] = await expectEvents(sink, timeline, 'source.failed', { namespace: world.namespace });
      assert.deepEqual([failed!.details.url, failed!.details.branch], [daemon.url, 'main']);
      assert.match(String(failed!.details.reason), /unable to connect to 127\.0\.0\.1/);
      await daemon.resume();
      assert.equal((await runCli(['sync', ...world.flags()])).code, 0);
      await serving('v1');
      assert.doesNotMatch((await world.cli(['status'])).stdout, /failing/);
      const [recovered] = await expectEvents(sink, timeline, 'source.recovered', { namespace: world.namespace });
      assert.deepEqual([recovered!.details.url, recovered!.details.branch], [daemon.url, 'main']);
      assert.equal(await berth.stop(), 0);
    } finally {
      await daemon.stop();
    }
  });

  it('follows a force-push, and says so (source.diverged); keeps the apps of a path deleted without --allow-empty', async () => {
    const v2 = (await history()).find((h) => h.tag === 'v2')?.commit?.sha;
    assert.ok(v2);
    const berth = world.start(['--git', repo.fileUrl, '--git-path', 'apps', '--git-interval', '1', ...sink.flags()]);
    await serving('v1');
    const head = (await world.status()).find((a) => a.app === 'web')?.commit?.sha;
    await repo.forcePush(v2);
    await serving('v2');
    const [diverged] = await expectEvents(sink, timeline, 'source.diverged', { namespace: world.namespace });
    assert.deepEqual([diverged!.details.branch, diverged!.details.from, diverged!.details.to], ['main', head, v2]);
    await repo.commit({ 'apps/web.yaml': null }, 'remove everything');
    await berth.waitForLog((l) => l.source === 'git' && /remove everything/.test(l.msg), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const status = await web();
    assert.equal(status?.running.tag, 'v2', 'the app keeps running');
    assert.equal((await world.running('web')).length, 1);
    assert.equal(await berth.stop(), 0);
  });

  it("records the commit of the tree each deploy was read from, not the head when it ends, and the commit that last changed the app's file", async () => {
    // Its own namespace and repository (two apps, web and api, both of web's images), so that what the tests above left does not count.
    const here = await Scenario.create();
    const source = await GitRepo.create();
    try {
      const image = `${world.namespace}/web`;
      const webFile = (tag: string, spec: Record<string, unknown> = {}) => ({
        'apps/web.yaml': here.manifest('web', { image, tag, ...spec }),
      });
      const apiFile = (tag: string) => ({ 'apps/api.yaml': here.manifest('api', { image, tag }) });
      const running = (tags: Record<string, string>) =>
        eventually(
          async () => {
            const apps = await here.status();
            return (
              Object.entries(tags).every(([app, tag]) =>
                apps.some((a) => a.app === app && a.phase === 'Running' && a.running.tag === tag),
              ) && apps
            );
          },
          45_000,
          `${JSON.stringify(tags)} Running`,
        );
      type Deploy = {
        tag: string;
        outcome: string;
        commit?: { sha: string; subject: string };
        changedBy?: { sha: string; subject: string };
      };
      const historyOf = async (app: string) =>
        JSON.parse((await here.cli(['history', app, '--json'])).stdout) as Deploy[];
      await source.commit({ ...webFile('v1'), ...apiFile('v1') }, 'add web and api');
      const listen = await freePort();
      const berth = here.start([
        '--git',
        source.fileUrl,
        '--git-path',
        'apps',
        '--git-interval',
        '1',
        '--listen',
        `127.0.0.1:${listen}`,
      ]);
      await running({ web: 'v1', api: 'v1' });

      // A change to web.yaml and, after it, one to api.yaml alone, pushed together: berth fetches the second, and web deploys from its tree.
      const mark = berth.logs.length;
      const webChange = await source.commit(webFile('v2', { checks: { wait: 6 } }), 'web to v2', { push: false });
      const apiChange = await source.commit(apiFile('v2'), 'api to v2');
      const deploying = await berth.waitForLog((l) => l.app === 'web' && l.step === 'deploy', 20_000, mark);
      // While web's check waits, a commit changing api alone lands.
      const apiAgain = await source.commit(apiFile('v3'), 'api to v3');
      const fetched = await berth.waitForLog((l) => l.source === 'git' && /api to v3/.test(l.msg), 15_000, mark);
      await running({ web: 'v2', api: 'v3' });
      const deployed = berth.logs.findIndex((l, i) => i > mark && l.app === 'web' && l.step === 'deployed');
      assert.ok(
        berth.logs.indexOf(deploying) < berth.logs.indexOf(fetched) && berth.logs.indexOf(fetched) < deployed,
        'the commit landed while web deployed',
      );

      const [web] = await historyOf('web');
      assert.deepEqual(
        [web?.tag, web?.commit?.sha, web?.changedBy?.sha, web?.changedBy?.subject],
        ['v2', apiChange, webChange, 'web to v2'],
        'the tree web was read from (not the head when it ended), and the commit that changed web.yaml',
      );
      const [api] = await historyOf('api');
      assert.deepEqual([api?.tag, api?.commit?.sha, api?.changedBy?.sha], ['v3', apiAgain, apiAgain]);
      const first = (await historyOf('web')).at(-1);
      assert.equal(first?.commit?.subject, 'add web and api');
      assert.equal(
        first?.changedBy,
        undefined,
        'a file of the first tree berth fetched: who last changed it is not known (the clone is shallow)',
      );

      const status = (await here.status()).find((a) => a.app === 'web');
      assert.deepEqual([status?.commit?.sha, status?.changedBy?.sha], [apiChange, webChange]);
      const apiApps = (await (await fetch(`http://127.0.0.1:${listen}/api/apps/web`)).json()) as {
        commit: { sha: string };
        changedBy: { sha: string };
      };
      assert.deepEqual([apiApps.commit.sha, apiApps.changedBy.sha], [apiChange, webChange]);
      const page = await (await fetch(`http://127.0.0.1:${listen}/`)).text();
      assert.match(
        page,
        new RegExp(
          `<code>${apiChange.slice(0, 7)}</code> api to v2</div><div class="commit changed-by"[^>]*>changed by <code>${webChange.slice(0, 7)}</code> web to v2`,
        ),
      );
      const events = JSON.parse((await here.cli(['events', 'web', '--json'])).stdout) as {
        type: string;
        message: string;
        details: { commit?: { sha: string }; changedBy?: { sha: string } };
      }[];
      const succeeded = events.filter((e) => e.type === 'deploy.succeeded').at(-1);
      assert.deepEqual([succeeded?.details.commit?.sha, succeeded?.details.changedBy?.sha], [apiChange, webChange]);
      assert.match(
        succeeded?.message ?? '',
        new RegExp(
          `from ${apiChange.slice(0, 7)} 'api to v2' \\(its manifest last changed by ${webChange.slice(0, 7)} 'web to v2'\\)`,
        ),
      );

      // The table a person reads: the tree's commit, and the change that deployed it.
      const table = (await here.cli(['history', 'web'])).stdout.split('\n');
      assert.match(
        table[0] ?? '',
        /^\s+DEPLOYED\s+AGE\s+COMMIT\s+CHANGED BY\s+IMAGE\s+IMAGE ID\s+RESULT\s+TOOK\s+REASON$/,
      );
      assert.match(
        table[1] ?? '',
        new RegExp(
          `^\\*\\s.*\\s${apiChange.slice(0, 7)}\\s+${webChange.slice(0, 7)} web to v2\\s+.*web:v2\\s.*succeeded`,
        ),
      );
      assert.match(table.at(-2) ?? '', new RegExp(`\\s${(first?.commit?.sha ?? '').slice(0, 7)}\\s+\\?\\s+`));
      assert.match(
        (await here.cli(['status'])).stdout,
        new RegExp(`^web\\s+v2 \\(${apiChange.slice(0, 7)}, changed by ${webChange.slice(0, 7)}\\)\\s`, 'm'),
      );

      // Restarted, berth still knows who last changed each file (files.json beside the checkout): web deployed again for
      // another reason than its file (its tag now names another image) names the tree it was read from, and webChange.
      assert.equal(await berth.stop(), 0);
      const again = here.start(['--git', source.fileUrl, '--git-path', 'apps', '--git-interval', '1']);
      const apiLast = await source.commit(apiFile('v4'), 'api to v4');
      await running({ api: 'v4' });
      const v2 = await world.imageId(`${image}:v2`);
      assert.ok(v2);
      await dockerCli(['tag', `${image}:v1`, `${image}:v2`]);
      try {
        const redeployed = await eventually(
          async () => (await historyOf('web')).find((h) => h.outcome === 'succeeded' && h.commit?.sha === apiLast),
          45_000,
          'web deployed again',
        );
        assert.deepEqual([redeployed.tag, redeployed.changedBy?.sha], ['v2', webChange]);
      } finally {
        await dockerCli(['tag', v2, `${image}:v2`]);
      }
      assert.equal(await again.stop(), 0);
    } finally {
      await here.cleanup();
      await source.remove();
    }
  });

  it('over SSH with a deploy key; under --git-verify-signatures applies signed commits only', async () => {
    const ssh = await SshServer.start();
    try {
      const { key, allowedSigners } = await signingKey(scratch);
      await repo.commit(manifest('v3'), 'signed: web to v3', { sign: { key } });
      const berth = world.start(
        [
          '--git',
          ssh.url(repo),
          '--git-path',
          'apps',
          '--git-interval',
          '1',
          '--git-verify-signatures',
          '--git-allowed-signers',
          allowedSigners,
        ],
        ssh.env,
      );
      await serving('v3');
      await repo.commit(manifest('v4'), 'unsigned: web to v4');
      const refused = await eventually(
        async () => (await world.cli(['status'])).stdout.match(/^source: .*not applied.*$/m)?.[0],
        15_000,
        'the unsigned commit refused',
      );
      assert.match(refused, /commit [0-9a-f]{7} is not applied: it is not signed/);
      assert.equal((await web())?.running.tag, 'v3', 'what runs is untouched');
      await repo.commit(manifest('v4'), 'signed: web to v4', { sign: { key } });
      await serving('v4');
      assert.equal(await berth.stop(), 0);
    } finally {
      await ssh.stop();
    }
  });
});
