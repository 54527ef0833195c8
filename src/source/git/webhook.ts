/**
 * Push webhooks from GitHub (`X-Hub-Signature-256: sha256=<hmac>`), Gitea and Forgejo
 * (`X-Gitea-Signature` / `X-Forgejo-Signature: <hmac>`) and GitLab (`X-Gitlab-Token: <secret>`),
 * checked against the shared secret in constant time. The body is either content type GitHub
 * (and Gitea, Forgejo) can be set to send: `application/json`, or
 * `application/x-www-form-urlencoded` with the JSON in its `payload` field; the signature is over
 * the raw bytes either way. Pure.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

type WebhookVerdict =
  | { ok: true; provider: 'github' | 'gitea' | 'gitlab'; ref?: string }
  | { ok: false; reason: string };

export function verifyWebhook(
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  secret: string,
): WebhookVerdict {
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const hmac = createHmac('sha256', secret).update(body).digest('hex');
  const github = header('x-hub-signature-256');
  const gitea = header('x-gitea-signature') ?? header('x-forgejo-signature');
  const gitlab = header('x-gitlab-token');
  let provider: 'github' | 'gitea' | 'gitlab';
  if (github !== undefined) {
    if (!equal(github, `sha256=${hmac}`))
      return { ok: false, reason: 'the X-Hub-Signature-256 signature does not match' };
    provider = 'github';
  } else if (gitea !== undefined) {
    if (!equal(gitea, hmac)) return { ok: false, reason: 'the Gitea/Forgejo signature does not match' };
    provider = 'gitea';
  } else if (gitlab !== undefined) {
    if (!equal(gitlab, secret)) return { ok: false, reason: 'the X-Gitlab-Token does not match' };
    provider = 'gitlab';
  } else {
    return {
      ok: false,
      reason: 'no signature (X-Hub-Signature-256, X-Gitea-Signature, X-Forgejo-Signature or X-Gitlab-Token)',
    };
  }
  const ref = pushedRef(body, header('content-type'));
  return { ok: true, provider, ...(ref !== undefined ? { ref } : {}) };
}

/** The `ref` a push event names (`refs/heads/main`), when the body says. */
function pushedRef(body: Buffer, contentType: string | undefined): string | undefined {
  const text = body.toString('utf8');
  const form = contentType?.split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded';
  const json = form ? new URLSearchParams(text).get('payload') : text;
  if (json === null) return undefined;
  try {
    const parsed = JSON.parse(json) as { ref?: unknown };
    return typeof parsed.ref === 'string' ? parsed.ref : undefined;
  } catch {
    return undefined;
  }
}

function equal(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
