import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { runGit } from '../../../src/source/git/git-command.js';
import { redactCredentials, redactUrl, splitPassword } from '../../../src/source/git/redact-url.js';

const TOKEN = 'glpat-Tok3nS3cretXyz';

describe('a repository URL with credentials', () => {
  it('is shown without user, password, query or fragment (oauth2 tokens, ?private_token=)', () => {
    assert.equal(
      redactUrl(`https://oauth2:${TOKEN}@gitlab.example.com/team/deploy.git`),
      'https://gitlab.example.com/team/deploy.git',
    );
    assert.equal(redactUrl(`https://${TOKEN}@github.com/team/deploy.git`), 'https://github.com/team/deploy.git');
    assert.equal(
      redactUrl(`https://gitlab.example.com/team/deploy.git?private_token=${TOKEN}`),
      'https://gitlab.example.com/team/deploy.git',
    );
    assert.equal(redactUrl(`https://u:p%40ss@host/r.git#${TOKEN}`), 'https://host/r.git');
    assert.equal(redactUrl('file:///srv/deploy.git'), 'file:///srv/deploy.git');
    assert.equal(redactUrl(`deploy:${TOKEN}@host:team/deploy.git`), 'host:team/deploy.git');
  });

  it("is taken out of git's words, whole or in pieces", () => {
    const url = `https://oauth2:${TOKEN}@gitlab.example.com/team/deploy.git?private_token=${TOKEN}`;
    const said = redactCredentials(
      `unable to access '${url}': The requested URL returned error: 403; password ${TOKEN}; query private_token=${TOKEN}`,
      url,
    );
    assert.ok(!said.includes(TOKEN), said);
    assert.match(
      said,
      /^unable to access 'https:\/\/gitlab\.example\.com\/team\/deploy\.git': The requested URL returned error: 403/,
    );
  });

  it('is split into a URL without the password (for a command line) and the password (for the environment)', () => {
    assert.deepEqual(splitPassword(`https://oauth2:${encodeURIComponent('p@ss/word')}@host:8443/r.git`), {
      url: 'https://oauth2@host:8443/r.git',
      username: 'oauth2',
      password: 'p@ss/word',
    });
    assert.equal(splitPassword('https://oauth2@host/r.git'), undefined, 'no password');
    assert.equal(splitPassword('ssh://git@host/r.git'), undefined, 'ssh takes keys');
  });

  describe('git over http(s) with a password', () => {
    let server: Server;
    let port: number;
    const seen: { authorization: string | undefined; processes: string }[] = [];

    before(async () => {
      // Asks for basic auth until git sends the password, then answers 404 (no repository).
      const expected = `Basic ${Buffer.from(`oauth2:${TOKEN}`).toString('base64')}`;
      server = createServer((request, response) => {
        // What every user sees in the process list while git talks to the remote.
        seen.push({
          authorization: request.headers.authorization,
          processes: execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }),
        });
        if (request.headers.authorization !== expected)
          response.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end();
        else response.writeHead(404).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    after(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it("gets the password through berth's credential helper, never on a command line, and says no token in its error", async () => {
      const url = `http://oauth2:${TOKEN}@127.0.0.1:${port}/team/deploy.git`;
      const error = await runGit(['ls-remote', '--exit-code', url, 'refs/heads/main'], {
        url,
        env: { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
      }).then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(error, 'the remote has no repository');
      assert.ok(!error.message.includes(TOKEN), error.message);
      assert.ok(
        seen.some((s) => s.authorization === `Basic ${Buffer.from(`oauth2:${TOKEN}`).toString('base64')}`),
        'git sent the password',
      );
      assert.match(error.message, /not found/, 'and got past the credentials');
      assert.ok(seen.length >= 2);
      for (const { processes } of seen) {
        assert.match(processes, new RegExp(`127\\.0\\.0\\.1:${port}`), 'the process list was taken while git ran');
        assert.ok(!processes.includes(TOKEN), 'no token in the process list');
      }
    });
  });
});
