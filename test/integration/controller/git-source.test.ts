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
import { eventually, runCli, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage } from '../../support/docker.js';
import { GitDaemon, GitRepo, SshServer, signingKey } from '../../support/git-server.js';
import { freePort } from '../../support/nginx.js';
import { Scenario } from '../../support/scenario.js';

describe('berth run --git (real git servers on loopback)', function () {
  this.timeout(120_000);
  let world: Scenario;
  let repo: GitRepo;
  let scratch: string;
  const SECRET = 'webhook-secret-for-tests';

  before(async () => {
    world = await Scenario.create();
    repo = await GitRepo.create();
    scratch = await mkdtemp(join(tmpdir(), 'berth-git-test-'));
    await writeFile(join(scratch, 'secret'), `${SECRET}\n`, { mode: 0o600 });
    for (const tag of ['v1', 'v2', 'v3', 'v4']) await buildTestImage(`${world.namespace}/web`, tag, { body: `web ${tag}` });
  });
  afterEach(async () => {
    await world.killProcesses();
  });
  after(async () => {
    await world.cleanup();
    await repo.remove();
    await rm(scratch, { recursive: true, force: true });
  });

  const manifest = (tag: string) => ({ 'apps/web.yaml': world.manifest('web', { tag }) });
  const web = async () => (await world.status()).find((a) => a.app === 'web');
  const serving = (tag: string) => eventually(async () => {
    const status = await web();
    return status?.running.tag === tag && status.phase === 'Running' ? status : undefined;
  }, 30_000, `web ${tag} Running`);
  const history = async () => JSON.parse((await world.cli(['history', 'web', '--json'])).stdout) as { tag: string; outcome: string; commit?: { sha: string; subject: string; author: string } }[];

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
    assert.ok(berth.logs.some((l) => l.step === 'deployed' && l.msg.includes(`from ${sha.slice(0, 7)} 'bump web to v2'`)), 'the deploy line names the commit');
    const human = await world.cli(['status']);
    assert.match(human.stdout, new RegExp(`^source: git file://.*repo\\.git@main:apps at ${sha.slice(0, 7)} 'bump web to v2'$`, 'm'));
    assert.equal(await berth.stop(), 0);
    const next = await repo.commit(manifest('v3'), 'bump web to v3');
    const plan = await world.cli(['plan', '--git', repo.fileUrl, '--git-path', 'apps']);
    assert.match(plan.stdout, new RegExp(`^commit ${next.slice(0, 7)} 'bump web to v3'`));
    assert.match(plan.stdout, /^web: deploy .*web:v3/m);
    const again = world.start(['--git', repo.fileUrl, '--git-path', 'apps', '--git-interval', '1']);
    await serving('v3');
    assert.equal(await again.stop(), 0);
  });

  it('takes signed push webhooks (GitHub, GitLab) and fetches at once; a bad signature gets 401 and fetches nothing', async () => {
    const daemon = await GitDaemon.start(repo);
    try {
      const listen = await freePort();
      const berth = world.start(['--git', daemon.url, '--git-path', 'apps', '--git-interval', '3600', '--listen', `127.0.0.1:${listen}`, '--git-webhook-secret-file', join(scratch, 'secret')]);
      await serving('v3');
      await berth.waitForLog((l) => l.step === 'ready', 30_000);
      await repo.commit(manifest('v4'), 'bump web to v4');
      const body = JSON.stringify({ ref: 'refs/heads/main', after: 'x' });
      const hook = (headers: Record<string, string>) => fetch(`http://127.0.0.1:${listen}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      const forged = await hook({ 'x-hub-signature-256': `sha256=${createHmac('sha256', 'wrong').update(body).digest('hex')}` });
      assert.equal(forged.status, 401);
      assert.equal((await hook({})).status, 401, 'no signature');
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.equal((await web())?.running.tag, 'v3', 'nothing fetched on a refused hook');
      const pushed = Date.now();
      const signed = await hook({ 'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` });
      assert.equal(signed.status, 202);
      await berth.waitForLog((l) => l.source === 'git' && /^Fetched/.test(l.msg), 5_000);
      assert.ok(Date.now() - pushed < 2_000, `fetched ${Date.now() - pushed} ms after the webhook`);
      await serving('v4');

      // The remote gone: what runs stays, the source says what is wrong; back: it recovers.
      await daemon.stop();
      await repo.commit(manifest('v1'), 'back to v1');
      assert.equal((await hook({ 'x-gitlab-token': SECRET })).status, 202, 'a GitLab token is accepted');
      const failing = await eventually(async () => (await world.cli(['status'])).stdout.match(/^source: .*failing for .*$/m)?.[0], 10_000, 'the source failing in status');
      assert.match(failing, /git:\/\/127\.0\.0\.1:\d+\/repo\.git@main:apps at [0-9a-f]{7} 'bump web to v4'; failing for \d+s: unable to connect to 127\.0\.0\.1.*Connection refused \(the last good tree stays\)$/);
      assert.equal((await web())?.phase, 'Running');
      assert.equal((await fetch(`http://127.0.0.1:${listen}/readyz`)).status, 200, 'a source error is no reason to be unready');
      assert.match(await (await fetch(`http://127.0.0.1:${listen}/metrics`)).text(), /^berth_source_up 0$/m);
      await daemon.resume();
      assert.equal((await runCli(['sync', ...world.flags()])).code, 0);
      await serving('v1');
      assert.doesNotMatch((await world.cli(['status'])).stdout, /failing/);
      assert.equal(await berth.stop(), 0);
    } finally {
      await daemon.stop();
    }
  });

  it('follows a force-push; keeps the apps of a path deleted without --allow-empty', async () => {
    const v2 = (await history()).find((h) => h.tag === 'v2')?.commit?.sha;
    assert.ok(v2);
    const berth = world.start(['--git', repo.fileUrl, '--git-path', 'apps', '--git-interval', '1']);
    await serving('v1');
    await repo.forcePush(v2);
    await serving('v2');
    await repo.commit({ 'apps/web.yaml': null }, 'remove everything');
    await berth.waitForLog((l) => l.source === 'git' && /remove everything/.test(l.msg), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const status = await web();
    assert.equal(status?.running.tag, 'v2', 'the app keeps running');
    assert.equal((await world.running('web')).length, 1);
    assert.equal(await berth.stop(), 0);
  });

  it('over SSH with a deploy key; under --git-verify-signatures applies signed commits only', async () => {
    const ssh = await SshServer.start();
    try {
      const { key, allowedSigners } = await signingKey(scratch);
      await repo.commit(manifest('v3'), 'signed: web to v3', { sign: { key } });
      const berth = world.start(['--git', ssh.url(repo), '--git-path', 'apps', '--git-interval', '1', '--git-verify-signatures', '--git-allowed-signers', allowedSigners], ssh.env);
      await serving('v3');
      await repo.commit(manifest('v4'), 'unsigned: web to v4');
      const refused = await eventually(async () => (await world.cli(['status'])).stdout.match(/^source: .*not applied.*$/m)?.[0], 15_000, 'the unsigned commit refused');
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
