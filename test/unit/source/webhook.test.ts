import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import { redactCredentials, redactUrl } from '../../../src/source/git/redact-url.js';
import { verifyWebhook } from '../../../src/source/git/webhook.js';

describe('git push webhooks (verifyWebhook)', () => {
  const secret = 's3cret';
  const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', commits: [] }));
  const hmac = (key: string) => createHmac('sha256', key).update(body).digest('hex');

  it('accepts GitHub, Gitea, Forgejo and GitLab signatures made with the secret, and reads the pushed ref', () => {
    assert.deepEqual(verifyWebhook({ 'x-hub-signature-256': `sha256=${hmac(secret)}` }, body, secret), { ok: true, provider: 'github', ref: 'refs/heads/main' });
    assert.deepEqual(verifyWebhook({ 'x-gitea-signature': hmac(secret) }, body, secret), { ok: true, provider: 'gitea', ref: 'refs/heads/main' });
    assert.deepEqual(verifyWebhook({ 'x-forgejo-signature': hmac(secret) }, body, secret), { ok: true, provider: 'gitea', ref: 'refs/heads/main' });
    assert.deepEqual(verifyWebhook({ 'x-gitlab-token': secret }, body, secret), { ok: true, provider: 'gitlab', ref: 'refs/heads/main' });
  });

  it('refuses a signature made with another key, over other bytes, or none at all', () => {
    assert.match(JSON.stringify(verifyWebhook({ 'x-hub-signature-256': `sha256=${hmac('other')}` }, body, secret)), /X-Hub-Signature-256 signature does not match/);
    assert.equal(verifyWebhook({ 'x-hub-signature-256': `sha256=${hmac(secret)}` }, Buffer.concat([body, Buffer.from(' ')]), secret).ok, false, 'one byte more');
    assert.equal(verifyWebhook({ 'x-hub-signature-256': hmac(secret) }, body, secret).ok, false, 'GitHub signatures carry the sha256= prefix');
    assert.equal(verifyWebhook({ 'x-gitlab-token': 's3cre' }, body, secret).ok, false);
    assert.match(JSON.stringify(verifyWebhook({}, body, secret)), /no signature/);
  });
});

describe('remote URLs in logs and messages', () => {
  it('never shows credentials', () => {
    assert.equal(redactUrl('https://deploy:ghp_token@github.com/team/apps.git'), 'https://github.com/team/apps.git');
    assert.equal(redactUrl('ssh://git@host:22/apps.git'), 'ssh://host:22/apps.git');
    assert.equal(redactUrl('git@github.com:team/apps.git'), 'git@github.com:team/apps.git', 'scp-like syntax has no password to hide');
    assert.equal(redactCredentials("Authentication failed for 'https://deploy:ghp_token@github.com/'", 'https://deploy:ghp_token@github.com/team/apps.git'), "Authentication failed for 'https://***@github.com/'");
  });
});
