/** `scheme://[userinfo@]rest[?query][#fragment]`: the parts of a remote URL that may hold a token. */
const URL_PARTS = /^([a-z][a-z0-9+.-]*:\/\/)(?:([^/?#]*)@)?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/is;

/**
 * A remote URL as it may be shown and logged: its user and password (a token:
 * `https://oauth2:TOKEN@host/...`), its query (`?private_token=...`) and its fragment taken out;
 * the host and the repository's path stay. Pure.
 */
export function redactUrl(url: string): string {
  const parts = URL_PARTS.exec(url);
  if (parts) return `${parts[1]}${parts[3]}`;
  // scp-like `user@host:path` has no password to hide; anything like one before the `@` goes.
  return url.replace(/^[^@/]*:[^@/]*@/, '');
}

/** `text` (git's own words) with the URL shown as redactUrl shows it and every secret piece of `url` taken out. */
export function redactCredentials(text: string, url: string): string {
  const parts = URL_PARTS.exec(url);
  if (!parts) return text;
  const [, , userinfo, , query, fragment] = parts;
  const password = userinfo?.includes(':') ? userinfo.slice(userinfo.indexOf(':') + 1) : undefined;
  const pieces = [userinfo, password, query, fragment].filter(
    (piece): piece is string => piece !== undefined && piece.length >= 3,
  );
  const secrets = [...new Set([...pieces, ...pieces.map(decoded)])].sort((a, b) => b.length - a.length);
  const shown = text.split(url).join(redactUrl(url));
  return secrets.reduce((said, secret) => said.split(secret).join('***'), shown);
}

/**
 * `url` for a command line (which `ps` shows every user): without its password, which goes to git
 * through the environment instead (see git-command.ts); undefined when it has none.
 */
export function splitPassword(url: string): { url: string; username: string; password: string } | undefined {
  const parts = URL_PARTS.exec(url);
  const userinfo = parts?.[2];
  if (!parts || userinfo === undefined || !userinfo.includes(':') || !/^https?:\/\/$/i.test(parts[1]!))
    return undefined;
  const user = userinfo.slice(0, userinfo.indexOf(':'));
  const password = decoded(userinfo.slice(userinfo.indexOf(':') + 1));
  const rest = url.slice(parts[1]!.length + userinfo.length + 1);
  return { url: `${parts[1]}${user === '' ? '' : `${user}@`}${rest}`, username: decoded(user), password };
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
