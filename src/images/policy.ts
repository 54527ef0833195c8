/**
 * The image policy itself (pure, no I/O): which tags of a repository a `spec.imagePolicy` matches,
 * how they sort, and which one, if any, berth adopts now. A policy moves forward only: a tag is
 * adopted when it sorts strictly after the manifest's tag, after the floor a person's rollback
 * left, is not one berth rolled back itself, and has been known to berth for `minAge` seconds;
 * the newest such tag wins.
 *
 * - semver: a tag matches when `semver` parses it as a version (strictly; a leading "v" is
 *   allowed, as `semver.valid` allows it) and it satisfies the range, with semver's own rule for
 *   pre-releases: only when the range names one of the same major.minor.patch. Versions sort by
 *   semver precedence, so `1.0.0` and `v1.0.0` sort level.
 * - pattern: a tag matches when the RE2 pattern matches it whole (re2js: linear time in the tag,
 *   whatever the pattern says) and its group `key` took part: `numerical` sorts the key as a
 *   decimal integer of at most 15 digits (any other key does not match), `alphabetical` by UTF-16
 *   code units.
 *
 * Every tag must also be a Docker tag (letters, digits, `_`, `.`, `-`, at most 128 characters, not
 * starting with `.` or `-`): a tag berth adopts is written into a manifest, so nothing a registry
 * says can put anything else there. Work is bounded: at most MAX_CANDIDATES candidates are looked
 * at (the first ones given; the rest are ignored), and what a policy makes of a tag is remembered
 * (bounded caches, invisible to callers), so a look at the same 10,000 tags again costs little.
 * A pattern's matching is linear, but its cost is the pattern's program size times the tag's
 * length: one decide matches new tags against a pattern for at most MAX_MATCH_WORK of that
 * (under a second of CPU); the candidates past it are ignored on this look, and the next
 * look, which remembers what was matched, carries on from there.
 */
import type { RE2JS } from 're2js';
import semver from 'semver';
import { compileTagPattern, PATTERN_KEY_GROUP, semverRangeProblem } from '../manifest/image-policy.js';
import { printable } from '../manifest/printable.js';
import { TAG_PATTERN } from '../manifest/tag.js';
import type { ImagePolicy } from '../manifest/types.js';

/** Candidates `decide` looks at, at most: the first ones of the list; the rest are ignored. */
export const MAX_CANDIDATES = 10_000;

/** Longest tag Docker allows; a longer candidate is ignored. */
export const MAX_TAG_LENGTH = 128;

/**
 * Pattern work one decide spends on tags it has not matched before, in program instructions times
 * tag characters (plus one), an upper bound of RE2's steps: 10,000 tags of 57 characters against
 * `^(?P<key>[0-9]{8}T[0-9]{6})-[0-9a-f]{40}$` (62 instructions) fit; 10,000 tags of 128
 * characters against a 900-instruction pattern (seconds of CPU, the event loop stopped) do not.
 */
export const MAX_MATCH_WORK = 50_000_000;

/** What one look at a repository gives the policy of one app. */
export interface PolicyLook {
  policy: ImagePolicy;
  /** The tag the manifest pins now. */
  currentTag: string;
  /** Every tag the registry and the local engine have for the repository (any order, may repeat, may hold junk). */
  candidates: readonly string[];
  /** When berth first saw each tag (ms since epoch); a tag missing here is first seen `now`. */
  firstSeen: Readonly<Record<string, number>>;
  now: number;
  /** After a person moved the tag back: only a tag sorting after this one is adopted. */
  floor?: string;
  /** Tags berth rolled back itself: never adopted. */
  refused: ReadonlySet<string>;
}

/**
 * The verdict. `adopt`: write `tag` into the manifest. `wait`: leave the tag; `reason` is one
 * line for `status` (`1.2.0 matures at 2026-12-06T22:40:00Z (minAge 600s)`), and `maturesAt` (ms
 * since epoch), when set, is when the next tag the policy would adopt comes of age: a look then
 * would adopt it. Both: `newest` is the newest tag the policy matches, the manifest's included.
 */
export type PolicyDecision =
  | { kind: 'adopt'; tag: string; newest: string }
  | { kind: 'wait'; newest?: string; reason: string; maturesAt?: number };

/** compareTags was given a tag the policy does not match: such a tag sorts nowhere. */
export class TagOutsidePolicyError extends Error {
  constructor(
    readonly tag: string,
    readonly policy: string,
  ) {
    super(`tag ${printable(JSON.stringify(tag.slice(0, MAX_TAG_LENGTH)))} is outside the policy ${policy}`);
    this.name = 'TagOutsidePolicyError';
  }
}

/** Where a tag sorts: a semver version, a numerical key or an alphabetical key. */
type Rank = semver.SemVer | number | string;

/** One policy, compiled once: what it makes of a tag (undefined: no match), and how two ranks compare. */
interface Sorter {
  /** Why the policy cannot be used (validation refuses such a manifest; kept for callers that skip it). */
  invalid?: string;
  rankOf(tag: string): Rank | undefined;
  compare(a: Rank, b: Rank): number;
  /** What rankOf(tag) costs when it is not remembered (MAX_MATCH_WORK's unit); 0 when it is cheap. */
  cost(tag: string): number;
  /** Whether rankOf(tag) is remembered (then it costs nothing). */
  remembers?(tag: string): boolean;
}

/**
 * Whether `tag` is a Docker tag the policy matches. Never throws: any string may be asked about.
 */
export function matchesPolicy(policy: ImagePolicy, tag: string): boolean {
  return sorterFor(policy).rankOf(tag) !== undefined;
}

/**
 * The tags of `tags` the policy matches, each once, as decide ranks its candidates: at most
 * MAX_CANDIDATES looked at, and new ones only while MAX_MATCH_WORK lasts. Never throws.
 */
export function matchingTags(policy: ImagePolicy, tags: readonly string[]): string[] {
  return rankCandidates(sorterFor(policy), tags).map((ranked) => ranked.tag);
}

/**
 * Sort order of the policy: negative when a < b, positive when a > b, 0 when they sort level
 * (`1.0.0` and `v1.0.0`; two tags with the same numerical key). Tags the policy does not match
 * sort nowhere: TagOutsidePolicyError.
 */
export function compareTags(policy: ImagePolicy, a: string, b: string): number {
  const sorter = sorterFor(policy);
  const rankA = sorter.rankOf(a);
  if (rankA === undefined) throw new TagOutsidePolicyError(a, describePolicy(policy));
  const rankB = sorter.rankOf(b);
  if (rankB === undefined) throw new TagOutsidePolicyError(b, describePolicy(policy));
  return sorter.compare(rankA, rankB);
}

/**
 * "semver >=1.0.0 <2.0.0" / "pattern ^main-(?P<key>\d+)$ numerical": how status and plan name a
 * policy. One line: control characters in the author's text are escaped.
 */
export function describePolicy(policy: ImagePolicy): string {
  return 'semver' in policy
    ? `semver ${printable(policy.semver)}`
    : `pattern ${printable(policy.pattern)} ${policy.order}`;
}

/** Which tag the policy adopts now, if any, and otherwise why it waits (see PolicyDecision). */
export function decide(look: PolicyLook): PolicyDecision {
  const { policy, currentTag, now } = look;
  const sorter = sorterFor(policy);
  const described = describePolicy(policy);
  if (sorter.invalid !== undefined)
    return { kind: 'wait', reason: `the policy ${described} cannot be used: ${sorter.invalid}` };

  const matching = rankCandidates(sorter, look.candidates);
  const current = sorter.rankOf(currentTag);
  const all = current === undefined ? matching : [...matching, { tag: currentTag, rank: current }];
  const newest = newestOf(sorter, all)?.tag;
  const withNewest = newest === undefined ? {} : { newest };
  if (current === undefined)
    return {
      kind: 'wait',
      ...withNewest,
      reason: `the current tag ${quoteTag(currentTag)} is outside the policy (${described}); set a matching tag to start following`,
    };

  const newer = matching.filter((c) => sorter.compare(c.rank, current) > 0);
  if (newer.length === 0)
    return { kind: 'wait', ...withNewest, reason: `up to date (${newest} is the newest of ${described})` };

  // A floor the policy does not match (the policy changed since the rollback) cannot be sorted against: it is ignored.
  const floor = look.floor === undefined ? undefined : sorter.rankOf(look.floor);
  const aboveFloor = floor === undefined ? newer : newer.filter((c) => sorter.compare(c.rank, floor) > 0);
  if (aboveFloor.length === 0)
    return {
      kind: 'wait',
      ...withNewest,
      reason: `held at ${currentTag} after a rollback: waits for a tag newer than ${printable(look.floor ?? '')}`,
    };

  const allowed = aboveFloor.filter((c) => !look.refused.has(c.tag));
  if (allowed.length === 0) {
    const refused = newestOf(sorter, aboveFloor)?.tag;
    return { kind: 'wait', ...withNewest, reason: `${refused} was rolled back by berth; waits for a newer tag` };
  }

  const minAgeMs = policy.minAge * 1000;
  const maturity = (tag: string) => firstSeenAt(look.firstSeen, tag, now) + minAgeMs;
  const mature = allowed.filter((c) => now >= maturity(c.tag));
  const chosen = newestOf(sorter, mature);
  if (chosen !== undefined) return { kind: 'adopt', tag: chosen.tag, newest: newest ?? chosen.tag };

  // None is mature: the next to come of age is the one a later look adopts first (the newest of those, on a tie).
  const next = allowed.reduce((soonest, c) => {
    const difference = maturity(c.tag) - maturity(soonest.tag);
    return difference < 0 || (difference === 0 && byRank(sorter, c, soonest) > 0) ? c : soonest;
  });
  const maturesAt = maturity(next.tag);
  return {
    kind: 'wait',
    ...withNewest,
    reason: `${next.tag} matures at ${instant(maturesAt)} (minAge ${policy.minAge}s)`,
    maturesAt,
  };
}

interface Ranked {
  tag: string;
  rank: Rank;
}

/**
 * The candidates the policy matches, each once, with its rank: at most MAX_CANDIDATES are looked
 * at, and new ones only while MAX_MATCH_WORK lasts.
 */
function rankCandidates(sorter: Sorter, candidates: readonly string[]): Ranked[] {
  const seen = new Set<string>();
  const ranked: Ranked[] = [];
  const count = Math.min(candidates.length, MAX_CANDIDATES);
  let work = 0;
  for (let i = 0; i < count; i++) {
    const tag = candidates[i];
    if (typeof tag !== 'string' || seen.has(tag)) continue;
    seen.add(tag);
    if (!sorter.remembers?.(tag)) {
      work += sorter.cost(tag);
      if (work > MAX_MATCH_WORK) continue;
    }
    const rank = sorter.rankOf(tag);
    if (rank !== undefined) ranked.push({ tag, rank });
  }
  return ranked;
}

/**
 * Rank order; between tags that sort level, the one whose text sorts first counts as newer
 * (`1.1.0` over `v1.1.0`), so the choice is the same whatever order the candidates came in.
 */
function byRank(sorter: Sorter, a: Ranked, b: Ranked): number {
  return sorter.compare(a.rank, b.rank) || (a.tag < b.tag ? 1 : a.tag > b.tag ? -1 : 0);
}

function newestOf(sorter: Sorter, ranked: readonly Ranked[]): Ranked | undefined {
  let newest: Ranked | undefined;
  for (const entry of ranked) if (newest === undefined || byRank(sorter, entry, newest) > 0) newest = entry;
  return newest;
}

/** When berth first saw `tag`: `now` when unknown, not a time, or later than now (a clock moved back). */
function firstSeenAt(firstSeen: Readonly<Record<string, number>>, tag: string, now: number): number {
  const at = Object.hasOwn(firstSeen, tag) ? firstSeen[tag] : undefined;
  return typeof at === 'number' && Number.isFinite(at) ? Math.min(at, now) : now;
}

/** `2026-12-06T22:40:00Z`: the instant rounded up to the second, so it is never before the real one. */
function instant(ms: number): string {
  const date = new Date(Math.ceil(ms / 1000) * 1000);
  return Number.isNaN(date.getTime()) ? `${ms} ms after the epoch` : date.toISOString().replace(/\.000Z$/, 'Z');
}

function quoteTag(tag: string): string {
  return printable(JSON.stringify(tag.length <= MAX_TAG_LENGTH ? tag : `${tag.slice(0, MAX_TAG_LENGTH)}…`));
}

/** Policies compiled, by their text: at most this many, the least recently used dropped first. */
const MAX_SORTERS = 64;
/** Tags a sorter remembers what it made of; past this it forgets them all and starts again. */
const MAX_REMEMBERED_TAGS = 4 * MAX_CANDIDATES;

const sorters = new Map<string, Sorter>();

function sorterFor(policy: ImagePolicy): Sorter {
  const key =
    'semver' in policy ? `semver\u0000${policy.semver}` : `pattern\u0000${policy.order}\u0000${policy.pattern}`;
  const known = sorters.get(key);
  if (known !== undefined) {
    sorters.delete(key);
    sorters.set(key, known);
    return known;
  }
  const sorter = remembering('semver' in policy ? semverSorter(policy.semver) : patternSorter(policy));
  if (sorters.size >= MAX_SORTERS) sorters.delete(sorters.keys().next().value as string);
  sorters.set(key, sorter);
  return sorter;
}

/** `sorter` whose rankOf remembers its answers (a tag's rank never changes), up to MAX_REMEMBERED_TAGS. */
function remembering(sorter: Sorter): Sorter {
  const answers = new Map<string, Rank | null>();
  return {
    ...sorter,
    remembers: (tag) => answers.has(tag),
    rankOf(tag) {
      const known = answers.get(tag);
      if (known !== undefined) return known ?? undefined;
      const rank = sorter.rankOf(tag);
      if (answers.size >= MAX_REMEMBERED_TAGS) answers.clear();
      answers.set(tag, rank ?? null);
      return rank;
    },
  };
}

const NOTHING_MATCHES: Pick<Sorter, 'rankOf' | 'compare' | 'cost'> = {
  rankOf: () => undefined,
  compare: () => 0,
  cost: () => 0,
};

function semverSorter(range: string): Sorter {
  const problem = semverRangeProblem(range);
  if (problem !== undefined) return { ...NOTHING_MATCHES, invalid: problem };
  const accepted = new semver.Range(range, { loose: false });
  return {
    rankOf(tag) {
      if (!isDockerTag(tag)) return undefined;
      const version = semver.parse(tag, { loose: false });
      return version !== null && accepted.test(version) ? version : undefined;
    },
    compare: (a, b) => semver.compare(a as semver.SemVer, b as semver.SemVer),
    cost: () => 0,
  };
}

/** A numerical key: a decimal integer of at most 15 digits, so every one is exact as a number. */
const NUMERICAL_KEY = /^[0-9]{1,15}$/;

function patternSorter(policy: { pattern: string; order: 'numerical' | 'alphabetical' }): Sorter {
  const compiled = compileTagPattern(policy.pattern);
  if (!compiled.ok) return { ...NOTHING_MATCHES, invalid: compiled.problem };
  const regex: RE2JS = compiled.regex;
  const numerical = policy.order !== 'alphabetical';
  const size = regex.programSize();
  return {
    // Only a Docker tag is matched: anything else costs nothing.
    cost: (tag) => (isDockerTag(tag) ? size * (tag.length + 1) : 0),
    rankOf(tag) {
      if (!isDockerTag(tag)) return undefined;
      const matcher = regex.matcher(tag);
      if (!matcher.matches()) return undefined;
      const key = matcher.group(PATTERN_KEY_GROUP);
      if (key === null) return undefined;
      if (!numerical) return key;
      return NUMERICAL_KEY.test(key) ? Number(key) : undefined;
    },
    compare: numerical
      ? (a, b) => Math.sign((a as number) - (b as number))
      : (a, b) => ((a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0),
  };
}

function isDockerTag(tag: string): boolean {
  return typeof tag === 'string' && tag.length <= MAX_TAG_LENGTH && TAG_PATTERN.test(tag);
}
