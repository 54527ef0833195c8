/**
 * Bearer tokens a registry's token service issued, kept per (registry, scope) until their
 * `expires_in` passes, so that one look per interval costs one token request per token lifetime at
 * most. Bounded: past `maxEntries` the entry that expires first goes. A token is never logged or
 * put in a message; a registry that refuses a cached token has it dropped (`forget`).
 */

export class TokenCache {
  private readonly entries = new Map<string, { token: string; expiresAtMs: number }>();

  constructor(private readonly maxEntries = 1_000) {}

  /** The token for (registry, scope) while it is valid at `nowMs`. */
  get(registry: string, scope: string, nowMs: number): string | undefined {
    const key = keyOf(registry, scope);
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= nowMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.token;
  }

  set(registry: string, scope: string, token: string, expiresAtMs: number): void {
    const key = keyOf(registry, scope);
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      let soonest: string | undefined;
      let soonestAt = Number.POSITIVE_INFINITY;
      for (const [k, e] of this.entries) {
        if (e.expiresAtMs < soonestAt) {
          soonest = k;
          soonestAt = e.expiresAtMs;
        }
      }
      if (soonest !== undefined) this.entries.delete(soonest);
    }
    this.entries.set(key, { token, expiresAtMs });
  }

  forget(registry: string, scope: string): void {
    this.entries.delete(keyOf(registry, scope));
  }
}

/** The cache every listTags call shares unless its deps name another. */
export const sharedTokenCache = new TokenCache();

function keyOf(registry: string, scope: string): string {
  return `${registry}\n${scope}`;
}
