import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import { redactCredentials, redactUrl } from '../../../src/source/git/redact-url.js';
import { verifyWebhook } from '../../../src/source/git/webhook.js';

describe('git push webhooks (verifyWebhook)', () => {
  const secret = 's3cret';
  const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', commits: [] }));
  const hmac = (key: string) => createHmac('sha256', key).update(body).digest('hex');

  it('accepts GitHub, Gitea, Forgejo and GitLab signatures made with the secret, and reads the pushed ref', () => {
    assert.deepEqual(verifyWebhook({ 'x-hub-signature-256': `sha256=${hmac(secret)}` }, body, secret), {
      ok: true,
      provider: 'github',
      ref: 'refs/heads/main',
    });
    assert.deepEqual(verifyWebhook({ 'x-gitea-signature': hmac(secret) }, body, secret), {
      ok: true,
      provider: 'gitea',
      ref: 'refs/heads/main',
    });
    assert.deepEqual(verifyWebhook({ 'x-forgejo-signature': hmac(secret) }, body, secret), {
      ok: true,
      provider: 'gitea',
      ref: 'refs/heads/main',
    });
    assert.deepEqual(verifyWebhook({ 'x-gitlab-token': secret }, body, secret), {
      ok: true,
      provider: 'gitlab',
      ref: 'refs/heads/main',
    });
  });

  it('reads the ref of a form-encoded payload (payload=<json>), signed over the raw form bytes, as GitHub and Gitea send it when so configured', () => {
    const form = (ref: string) =>
      Buffer.from(
        new URLSearchParams({
          payload: JSON.stringify({ ref, after: 'abc', head_commit: { message: 'a & b = c + d' } }),
        }).toString(),
      );
    const signed = (bytes: Buffer) => createHmac('sha256', secret).update(bytes).digest('hex');
    const other = form('refs/heads/other');
    assert.match(
      other.toString(),
      /^payload=%7B%22ref%22%3A%22refs%2Fheads%2Fother%22/,
      'what GitHub sends: the JSON percent-encoded',
    );
    for (const type of [
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=utf-8',
      'Application/X-WWW-Form-Urlencoded',
    ]) {
      assert.deepEqual(
        verifyWebhook({ 'content-type': type, 'x-hub-signature-256': `sha256=${signed(other)}` }, other, secret),
        { ok: true, provider: 'github', ref: 'refs/heads/other' },
        type,
      );
    }
    const main = form('refs/heads/main');
    assert.deepEqual(
      verifyWebhook(
        { 'content-type': 'application/x-www-form-urlencoded', 'x-gitea-signature': signed(main) },
        main,
        secret,
      ),
      { ok: true, provider: 'gitea', ref: 'refs/heads/main' },
    );
    assert.deepEqual(
      verifyWebhook(
        { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${hmac(secret)}` },
        body,
        secret,
      ),
      { ok: true, provider: 'github', ref: 'refs/heads/main' },
      'JSON still',
    );
    assert.equal(
      verifyWebhook(
        { 'content-type': 'application/x-www-form-urlencoded', 'x-hub-signature-256': `sha256=${signed(main)}` },
        Buffer.from(main.toString().replace('main', 'mainx')),
        secret,
      ).ok,
      false,
      'the signature covers the raw form bytes',
    );
    const decoded = Buffer.from(decodeURIComponent(main.toString()));
    assert.equal(
      verifyWebhook(
        { 'content-type': 'application/x-www-form-urlencoded', 'x-hub-signature-256': `sha256=${signed(main)}` },
        decoded,
        secret,
      ).ok,
      false,
      'not the decoded JSON',
    );
    const noPayload = Buffer.from('other=1');
    assert.deepEqual(
      verifyWebhook(
        { 'content-type': 'application/x-www-form-urlencoded', 'x-hub-signature-256': `sha256=${signed(noPayload)}` },
        noPayload,
        secret,
      ),
      { ok: true, provider: 'github' },
      'no payload field: no ref',
    );
  });

  it('refuses a signature made with another key, over other bytes, or none at all', () => {
    assert.match(
      JSON.stringify(verifyWebhook({ 'x-hub-signature-256': `sha256=${hmac('other')}` }, body, secret)),
      /X-Hub-Signature-256 signature does not match/,
    );
    assert.equal(
      verifyWebhook(
        { 'x-hub-signature-256': `sha256=${hmac(secret)}` },
        Buffer.concat([body, Buffer.from(' ')]),
        secret,
      ).ok,
      false,
      'one byte more',
    );
    assert.equal(
      verifyWebhook({ 'x-hub-signature-256': hmac(secret) }, body, secret).ok,
      false,
      'GitHub signatures carry the sha256= prefix',
    );
    assert.equal(verifyWebhook({ 'x-gitlab-token': 's3cre' }, body, secret).ok, false);
    assert.match(JSON.stringify(verifyWebhook({}, body, secret)), /no signature/);
  });
});

describe('remote URLs in logs and messages', () => {
  it('never shows credentials', () => {
    assert.equal(redactUrl('https://deploy:ghp_token@github.com/team/apps.git'), 'https://github.com/team/apps.git');
    assert.equal(redactUrl('ssh://git@host:22/apps.git'), 'ssh://host:22/apps.git');
    assert.equal(
      redactUrl('git@github.com:team/apps.git'),
      'git@github.com:team/apps.git',
      'scp-like syntax has no password to hide',
    );
    assert.equal(
      redactCredentials(
        "Authentication failed for 'https://deploy:ghp_token@github.com/'",
        'https://deploy:ghp_token@github.com/team/apps.git',
      ),
      "Authentication failed for 'https://***@github.com/'",
    );
  });
});
