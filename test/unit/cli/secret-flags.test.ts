import { strict as assert } from 'node:assert';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitSettings, type GitValues } from '../../../src/cli/git-options.js';
import { notifySinks, type NotifyValues } from '../../../src/cli/notify-options.js';
import { secretDecrypter } from '../../../src/cli/secret-options.js';
import { UsageError } from '../../../src/cli/usage.js';

const TOKEN = 'tok3nS3cretXyz';

/** Rejects with a UsageError of one line matching `pattern` and quoting no token. */
async function usageError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.ok(error instanceof UsageError, `a UsageError, not ${error.name}: ${error.message}`);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes(TOKEN), `no token in: ${error.message}`);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
}

describe('secrets off the command line: --notify-file, BERTH_NOTIFY, --git-url-file, BERTH_GIT_URL', () => {
  let dir: string;
  const notify = (values: Partial<NotifyValues>, env: NodeJS.ProcessEnv = {}) =>
    notifySinks({ notify: [], 'notify-file': [], 'notify-exec': [], ...values }, () => 0, env);
  const git = (values: Partial<GitValues>, env: NodeJS.ProcessEnv = {}) =>
    gitSettings(
      {
        'git-branch': 'main',
        'git-path': '',
        'git-interval': '60',
        'git-max-tree-mib': '512',
        'git-verify-signatures': false,
        'git-trusted-key': [],
        ...values,
      },
      env,
    );
  const secretFile = async (name: string, text: string, mode = 0o600) => {
    const file = join(dir, name);
    await writeFile(file, text, { mode });
    await chmod(file, mode);
    return file;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-secret-flags-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('takes notify URLs from flags, files (one a line, # comments) and BERTH_NOTIFY, each named by kind and host only', async () => {
    const file = await secretFile(
      'notify',
      [
        '# ops chat, failures only',
        `slack+https://hooks.slack.com/services/T0/B0/${TOKEN}#events=deploy.failed`,
        '',
        `discord+https://discord.com/api/webhooks/1/${TOKEN}   # the team's server`,
        `https://hooks.example.com/a/${TOKEN}`,
      ].join('\n'),
    );
    const sinks = await notify(
      { notify: ['https://hooks.example.com/b'], 'notify-file': [file] },
      {
        BERTH_NOTIFY: `https://ntfy.sh/${TOKEN}\n  mattermost+https://chat.example.com/hooks/${TOKEN}?access_token=${TOKEN} `,
      },
    );
    assert.deepEqual(
      sinks.map((s) => s.name),
      [
        'https://hooks.example.com',
        'slack+https://hooks.slack.com',
        'discord+https://discord.com',
        'https://hooks.example.com (2)',
        'https://ntfy.sh',
        'mattermost+https://chat.example.com',
      ],
    );
    assert.deepEqual(sinks[1]!.filter.types, ['deploy.failed']);
  });

  it('refuses a notify file others may read, naming the file and chmod 600; and never quotes a URL it refuses', async () => {
    const open = await secretFile('open', `https://hooks.example.com/${TOKEN}\n`, 0o644);
    await usageError(
      notify({ 'notify-file': [open] }),
      new RegExp(`^--notify-file ${open}: has mode 0644: .*\\(chmod 600 ${open}\\)$`),
    );
    const two = await secretFile('two', `https://a.example.com/${TOKEN} https://b.example.com/${TOKEN}\n`);
    await usageError(notify({ 'notify-file': [two] }), new RegExp(`^--notify-file ${two}:1: one URL per line`));
    const ftp = await secretFile('ftp', `# x\nftp://user:${TOKEN}@files.example.com/${TOKEN}\n`);
    await usageError(
      notify({ 'notify-file': [ftp] }),
      new RegExp(`^--notify-file ${ftp}:2 ftp://files.example.com: not an http\\(s\\) URL$`),
    );
    await usageError(
      notify({}, { BERTH_NOTIFY: `https://hooks.example.com/${TOKEN}#events=deploy.nope` }),
      /^BERTH_NOTIFY https:\/\/hooks.example.com: unknown event type "deploy.nope"/,
    );
    const secret = await secretFile('secret', 'hmac-key', 0o640);
    await usageError(
      notify({ 'notify-secret-file': secret }),
      new RegExp(`^--notify-secret-file ${secret}: has mode 0640: .*chmod 600`),
    );
  });

  it('takes the repository from --git-url-file or BERTH_GIT_URL; --git wins over the environment; two flags are refused', async () => {
    const url = `https://oauth2:${TOKEN}@gitlab.example.com/team/deploy.git`;
    const file = await secretFile('git-url', `# the deploy repo\n${url}\n`);
    assert.equal((await git({ 'git-url-file': file }))?.url, url);
    assert.equal((await git({}, { BERTH_GIT_URL: ` ${url}\n` }))?.url, url);
    assert.equal((await git({ git: 'file:///srv/deploy.git' }, { BERTH_GIT_URL: url }))?.url, 'file:///srv/deploy.git');
    assert.equal(await git({}, {}), undefined);
    await usageError(
      git({ git: 'file:///x', 'git-url-file': file }),
      /^give the repository once: --git URL or --git-url-file FILE$/,
    );
    const two = await secretFile('git-two', `${url}\n${url}\n`);
    await usageError(
      git({ 'git-url-file': two }),
      new RegExp(`^--git-url-file ${two} must hold one URL \\(it holds 2 lines`),
    );
    await chmod(file, 0o604);
    await usageError(
      git({ 'git-url-file': file }),
      new RegExp(`^--git-url-file ${file}: has mode 0604: group or other users can read it.*\\(chmod 600 ${file}\\)$`),
    );
  });

  it('refuses a webhook secret file or an age identity that others may read, naming chmod 600', async () => {
    const webhook = await secretFile('webhook', 'shh', 0o644);
    await usageError(
      git({ git: 'file:///x', 'git-webhook-secret-file': webhook }),
      new RegExp(`^--git-webhook-secret-file ${webhook}: has mode 0644: .*\\(chmod 600 ${webhook}\\)$`),
    );
    const identity = await secretFile('age.key', `AGE-SECRET-KEY-1${TOKEN.toUpperCase()}\n`, 0o644);
    await usageError(
      secretDecrypter([identity]),
      new RegExp(`^--age-identity ${identity}: has mode 0644: .*\\(chmod 600 ${identity}\\)$`),
    );
    await chmod(identity, 0o600);
    await secretDecrypter([identity]);
  });
});
