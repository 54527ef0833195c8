/**
 * Secrets in URLs and the words of others, with berth run as users run it: a chat hook, a Discord
 * hook and a JSON webhook whose URLs carry a token (in the path and in `?access_token=`), given
 * through `--notify-file` and `BERTH_NOTIFY`, and a repository behind basic auth whose URL carries
 * a password, given through `BERTH_GIT_URL`. No token reaches berth's logs, `/metrics`, `/api`,
 * `status`, `events`, `history`, the state directory, or the process list (berth's own command line
 * and git's, read with `ps` while they talk to the servers). A commit subject and a probe's output
 * with terminal escapes, a bell and `<!channel>` reach the chat escaped and the log without control
 * characters. Secret files others may read are refused at start naming `chmod 600`, and a number
 * given as an env value is never echoed by `berth validate`.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ageKeygen } from '../../support/age.js';
import { eventually, runCli, type BerthProcess } from '../../support/berth-process.js';
import { buildTestImage, httpGet } from '../../support/docker.js';
import { GitHttpServer } from '../../support/git-http.js';
import { GitRepo } from '../../support/git-server.js';
import { freePort } from '../../support/nginx.js';
import { Scenario } from '../../support/scenario.js';

/** C0 (but newline and tab), DEL and C1: what a terminal would act on. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('secret URLs and hostile text: nothing leaks, nothing drives a terminal or pings a channel (real berth)', function () {
  this.timeout(120_000);
  const TOKEN = 'hooktok-Q8z3x7Lm2';
  const GIT_TOKEN = 'gitpat-W4k9v2Rn6';
  const HOSTILE = '\u001b[31mred\u001b[0m\u0007 <!channel> <@U123> @everyone';
  let world: Scenario;
  let repo: GitRepo;
  let remote: GitHttpServer;
  let receiver: Server;
  let berth: BerthProcess;
  let scratch: string;
  let listen: number;
  /** The process list as every user saw it while berth or its git talked to a server. */
  const processLists: string[] = [];
  const received: { path: string; body: string }[] = [];
  const snapshot = () => processLists.push(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }));

  const slack = () =>
    received.filter((r) => r.path.startsWith('/chat/')).map((r) => (JSON.parse(r.body) as { text: string }).text);
  const discord = () =>
    received
      .filter((r) => r.path.startsWith('/discord/'))
      .map((r) => JSON.parse(r.body) as { content: string; allowed_mentions: unknown });
  const hooks = () =>
    received
      .filter((r) => r.path.startsWith('/hook/'))
      .map((r) => JSON.parse(r.body) as { type: string; message: string });
  const spec = (extra: Record<string, unknown> = {}) => ({
    tag: 'v1',
    checks: { http: [{ path: '/health', content: 'ok', wait: 0, attempts: 3, timeout: 1 }] },
    ...extra,
  });
  const manifest = (extra: Record<string, unknown> = {}) => ({ 'apps/web.yaml': world.manifest('web', spec(extra)) });

  before(async () => {
    world = await Scenario.create();
    scratch = await mkdtemp(join(tmpdir(), 'berth-notify-secrets-'));
    await buildTestImage(`${world.namespace}/web`, 'v1');
    repo = await GitRepo.create();
    await repo.commit(manifest(), `deploy web ${HOSTILE}`);
    remote = await GitHttpServer.start(repo.bare, 'oauth2', GIT_TOKEN, snapshot);
    receiver = createServer((request, response) => {
      snapshot();
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        received.push({ path: request.url ?? '', body });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as { port: number }).port;
    const notifyFile = join(scratch, 'notify');
    await writeFile(
      notifyFile,
      [
        '# where berth says what happened',
        `slack+http://127.0.0.1:${port}/chat/${TOKEN}?access_token=${TOKEN}#events=deploy.succeeded,deploy.failed`,
        `discord+http://127.0.0.1:${port}/discord/${TOKEN}#events=deploy.succeeded,deploy.failed   # the team's server`,
      ].join('\n'),
      { mode: 0o600 },
    );
    listen = await freePort();
    berth = world.start(
      [
        '--git-path',
        'apps',
        '--git-interval',
        '1',
        '--notify-file',
        notifyFile,
        '--listen',
        `127.0.0.1:${listen}`,
        '--log-format',
        'pretty',
        '--public-url',
        'https://berth.example.test',
      ],
      {
        BERTH_NOTIFY: `http://127.0.0.1:${port}/hook/${TOKEN}?access_token=${TOKEN}`,
        BERTH_GIT_URL: remote.url(`oauth2:${GIT_TOKEN}`),
      },
    );
  });
  after(async () => {
    await world.cleanup();
    await remote.stop();
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
    await repo.remove();
    await rm(scratch, { recursive: true, force: true });
  });

  it('follows a remote behind basic auth and notifies through hooks with tokens; a commit subject with escapes and <!channel> reaches the chat inert', async () => {
    await eventually(
      async () => (await world.status()).find((a) => a.app === 'web' && a.phase === 'Running'),
      60_000,
      'web Running from the remote',
    );
    assert.ok(
      remote.requests.some((r) => r.authorized),
      "berth's git gave the password",
    );
    const [line] = await eventually(async () => (slack().length > 0 ? slack() : undefined), 15_000, 'a chat line');
    assert.match(
      line!,
      /^✅ \*web\* \(.*\): .* from [0-9a-f]{7} 'deploy web red &lt;!channel&gt; &lt;@\u200bU123&gt; @\u200beveryone'.* — <https:\/\/berth\.example\.test\/#app-web\|status>$/,
    );
    const [posted] = await eventually(
      async () => (discord().length > 0 ? discord() : undefined),
      15_000,
      'a Discord message',
    );
    assert.deepEqual(posted!.allowed_mentions, { parse: [] });
    assert.match(posted!.content, /'deploy web red \\<!channel\\> \\<@\u200bU123\\> @\u200beveryone'/);
    for (const text of [...slack(), ...discord().map((d) => d.content)]) assert.doesNotMatch(text, CONTROL);
    assert.ok(
      hooks().some((e) => e.type === 'deploy.succeeded'),
      'the JSON webhook of BERTH_NOTIFY got the deploy',
    );
  });

  it("a probe's output with escapes and <!channel> reaches the chat escaped, the log stripped", async () => {
    const probe = ['sh', '-c', 'printf "\\033[31m<!channel> not ready\\007\\n"; exit 1'];
    // A new env makes a new revision (checks alone do not), and its probe fails.
    await repo.commit(
      manifest({ env: { REVISION: '2' }, checks: { exec: [{ command: probe, attempts: 1, wait: 0, timeout: 5 }] } }),
      'add a probe',
    );
    const failed = await eventually(
      async () => slack().find((l) => l.startsWith('❌')),
      30_000,
      'the failed deploy in chat',
    );
    assert.match(failed, /exit code 1: &lt;!channel&gt; not ready/);
    assert.doesNotMatch(failed, CONTROL);
    assert.ok(!failed.includes('<!channel>'));
    const log = berth.logs.map((l) => l.msg).join('\n');
    assert.match(log, /exit code 1: <!channel> not ready/, 'the log says what the probe said');
    assert.doesNotMatch(log, CONTROL, 'the pretty log carries no control character');
    assert.match(log, /'deploy web red <!channel> <@U123> @everyone'/, 'the commit subject, stripped');
  });

  it('shows no token in the logs, /metrics, /api, status, events, history, the state directory or the process list', async () => {
    snapshot();
    const metrics = (await httpGet(listen, '/metrics')).body;
    const port = (receiver.address() as { port: number }).port;
    assert.match(
      metrics,
      new RegExp(
        `^berth_notifications_total\\{sink="slack\\+http://127\\.0\\.0\\.1:${port}",result="delivered"\\} [1-9]`,
        'm',
      ),
      'sinks are named by kind and host',
    );
    assert.match(
      metrics,
      new RegExp(`^berth_notifications_total\\{sink="http://127\\.0\\.0\\.1:${port}",result="delivered"\\} [1-9]`, 'm'),
    );
    const api = [
      (await httpGet(listen, '/api/apps')).body,
      (await httpGet(listen, '/api/events')).body,
      (await httpGet(listen, '/')).body,
    ];
    const cli = await Promise.all([
      world.cli(['status']),
      world.cli(['status', '--json']),
      world.cli(['events', '--json']),
      world.cli(['history', 'web']),
    ]);
    assert.match(
      cli[0]!.stdout,
      new RegExp(`^source: git http://127\\.0\\.0\\.1:${remote.port}/repo\\.git@main:apps at `, 'm'),
    );
    const state: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.isFile()) state.push(`${path}: ${(await readFile(path)).toString('latin1')}`);
      }
    };
    await walk(world.stateDir);
    const logs = [berth.logs.map((l) => l.msg).join('\n'), berth.stderr];
    assert.ok(processLists.length >= 3);
    assert.ok(
      processLists.some((list) => list.includes('--notify-file')),
      'the process list shows berth',
    );
    assert.ok(
      processLists.some((list) =>
        new RegExp(`git.* http://oauth2@127\\.0\\.0\\.1:${remote.port}/repo\\.git`).test(list),
      ),
      'and the git berth ran',
    );
    const places: [string, string[]][] = [
      ['logs', logs],
      ['/metrics', [metrics]],
      ['/api and the page', api],
      ['the CLI', cli.map((c) => c.stdout + c.stderr)],
      ['the state directory', state],
      ['the process list', processLists],
    ];
    for (const [where, texts] of places) {
      for (const text of texts) {
        assert.ok(
          !text.includes(TOKEN),
          `the hook token in ${where}: ${text.slice(Math.max(0, text.indexOf(TOKEN) - 200), text.indexOf(TOKEN) + 50)}`,
        );
        assert.ok(
          !text.includes(GIT_TOKEN),
          `the git password in ${where}: ${text.slice(Math.max(0, text.indexOf(GIT_TOKEN) - 200), text.indexOf(GIT_TOKEN) + 50)}`,
        );
      }
    }
    assert.equal(await berth.stop(), 0);
  });

  it('refuses at start, naming chmod 600, an identity, notify, URL or webhook secret file others may read, and a link planted in /tmp', async () => {
    const key = join(scratch, 'age.key');
    await ageKeygen(key);
    await chmod(key, 0o644);
    const files = { notify: join(scratch, 'notify'), url: join(scratch, 'git-url'), webhook: join(scratch, 'webhook') };
    await writeFile(files.url, `${remote.url(`oauth2:${GIT_TOKEN}`)}\n`, { mode: 0o644 });
    await writeFile(files.webhook, 'webhook-secret\n', { mode: 0o640 });
    await chmod(files.notify, 0o604);
    const run = (extra: string[], env: NodeJS.ProcessEnv = {}) =>
      runCli(['run', '--once', '--manifests', world.manifests, ...world.flags(), ...extra], env);
    const cases: [string, string[], NodeJS.ProcessEnv, string][] = [
      ['--age-identity', ['--age-identity', key], {}, key],
      ['BERTH_AGE_IDENTITY_FILE', [], { BERTH_AGE_IDENTITY_FILE: key }, key],
      ['--notify-file', ['--notify-file', files.notify], {}, files.notify],
      ['--git-url-file', ['--git-url-file', files.url], {}, files.url],
      [
        '--git-webhook-secret-file',
        ['--git', repo.fileUrl, '--git-webhook-secret-file', files.webhook],
        {},
        files.webhook,
      ],
    ];
    for (const [what, extra, env, file] of cases) {
      const result = await run(extra, env);
      assert.equal(result.code, 1, `${what}: ${result.stderr}`);
      assert.match(
        result.stderr,
        new RegExp(
          `^berth: .*${file}: has mode 06[04][04]: group or other users can read it, and it holds a secret \\(chmod 600 ${file}\\)[^\\n]*\\n$`,
        ),
        what,
      );
      assert.ok(!result.stderr.includes(GIT_TOKEN) && !result.stderr.includes(TOKEN));
    }
    await chmod(key, 0o600);
    const planted = join(tmpdir(), `berth-planted-key-${process.pid}`);
    await symlink(key, planted);
    try {
      const linked = await run(['--age-identity', planted]);
      assert.equal(linked.code, 1);
      assert.match(
        linked.stderr,
        new RegExp(`${planted}: is a symbolic link in ${tmpdir()}, a directory other users can write`),
      );
    } finally {
      await rm(planted, { force: true });
    }
  });

  it('berth validate names an env key given a number and says to quote it, never echoing the value', async () => {
    const dir = join(scratch, 'manifests');
    await mkdir(dir);
    await writeFile(join(dir, 'web.yaml'), world.manifest('web', { tag: 'v1', env: { PIN: 1234567890, DEBUG: true } }));
    const result = await world.cli(['validate', dir]);
    assert.notEqual(result.code, 0);
    const said = result.stdout + result.stderr;
    assert.match(
      said,
      /spec\.env\.PIN: must be a string; write the value in quotes \(a number here; env values are never shown\)/,
    );
    assert.match(said, /spec\.env\.DEBUG: must be a string; write the value in quotes/);
    assert.ok(!said.includes('1234567890'), said);
  });
});
