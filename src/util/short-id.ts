/**
 * The 12-character form of an engine id people read (`docker ps`, `docker images`): a `sha256:`
 * prefix dropped, a long hex id cut to 12. Anything else (a name, an already short id) is
 * returned as it is.
 */
export function shortId(id: string): string {
  const bare = id.replace(/^sha256:/, '');
  return /^[0-9a-f]{13,}$/.test(bare) ? bare.slice(0, 12) : bare;
}
