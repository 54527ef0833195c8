/** A remote URL as it may be shown and logged: user and password (a token) taken out. Pure. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/** `text` with every occurrence of the credentials of `url` taken out. */
export function redactCredentials(text: string, url: string): string {
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/@]*)@/i.exec(url)?.[1];
  return userinfo ? text.split(userinfo).join('***') : text;
}
