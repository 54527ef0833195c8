import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import semver from 'semver';
import {
  MAX_CANDIDATES,
  TagOutsidePolicyError,
  compareTags,
  decide,
  describePolicy,
  matchesPolicy,
  type PolicyDecision,
  type PolicyLook,
} from '../../../src/images/policy.js';
import type { ImagePolicy } from '../../../src/manifest/types.js';

const NOW = Date.UTC(2026, 11, 6, 22, 30, 0);
const MINUTE = 60_000;

const semverPolicy = (range: string, minAge = 0): ImagePolicy => ({ semver: range, interval: 300, minAge });
const patternPolicy = (
  pattern: string,
  order: 'numerical' | 'alphabetical' = 'numerical',
  minAge = 0,
): ImagePolicy => ({
  pattern,
  order,
  interval: 300,
  minAge,
});

/** A look at `candidates` at NOW, every tag seen an hour ago unless `firstSeen` says otherwise. */
function look(
  policy: ImagePolicy,
  currentTag: string,
  candidates: string[],
  extra: Partial<PolicyLook> = {},
): PolicyLook {
  const firstSeen = Object.fromEntries(candidates.map((tag) => [tag, NOW - 60 * MINUTE]));
  return { policy, currentTag, candidates, firstSeen, now: NOW, refused: new Set(), ...extra };
}

const adopted = (decision: PolicyDecision) => (decision.kind === 'adopt' ? decision.tag : undefined);

describe('image policy', () => {
  describe('semver', () => {
    const caret1 = semverPolicy('^1');

    it('adopts the newest version the range accepts, never a pre-release it does not name nor the next major', () => {
      const decision = decide(look(caret1, '1.0.0', ['1.0.0', '1.1.0', '1.2.0-rc.1', '2.0.0', 'latest']));
      assert.deepEqual(decision, { kind: 'adopt', tag: '1.1.0', newest: '1.1.0' });
    });

    it('takes pre-releases when the range names one of the same version', () => {
      const policy = semverPolicy('>=1.2.0-rc.0 <2.0.0');
      assert.equal(adopted(decide(look(policy, '1.2.0-rc.0', ['1.2.0-rc.0', '1.2.0-rc.1']))), '1.2.0-rc.1');
      assert.equal(adopted(decide(look(policy, '1.2.0-rc.1', ['1.2.0-rc.1', '1.2.0-rc.2', '1.2.0']))), '1.2.0');
      // a pre-release of another version is still left alone
      assert.deepEqual(decide(look(policy, '1.2.0', ['1.2.0', '1.3.0-rc.1'])), {
        kind: 'wait',
        newest: '1.2.0',
        reason: 'up to date (1.2.0 is the newest of semver >=1.2.0-rc.0 <2.0.0)',
      });
    });

    it('reads a leading "v", and between 1.1.0 and v1.1.0 (level) picks the same one whatever the order', () => {
      assert.equal(adopted(decide(look(caret1, 'v1.0.0', ['v1.0.0', 'v1.1.0']))), 'v1.1.0');
      assert.equal(adopted(decide(look(caret1, '1.0.0', ['1.1.0', 'v1.1.0']))), '1.1.0');
      assert.equal(adopted(decide(look(caret1, '1.0.0', ['v1.1.0', '1.1.0']))), '1.1.0');
      assert.equal(compareTags(caret1, '1.1.0', 'v1.1.0'), 0);
      // level is not newer: v1.0.0 is no move from 1.0.0
      assert.equal(decide(look(caret1, '1.0.0', ['v1.0.0'])).kind, 'wait');
    });

    it('ignores what is not a Docker tag or not a strict version: junk, loose versions, 129 characters', () => {
      const junk = [
        '1.1.0 ',
        ' 1.1.0',
        '1.1.0\n',
        '1.1.0+build',
        '=1.1.0',
        '1.1',
        '01.1.0',
        '1.1.0.0',
        `1.1.0-${'a'.repeat(123)}`,
        '',
        'V1.1.0',
      ];
      assert.deepEqual(decide(look(caret1, '1.0.0', junk)), {
        kind: 'wait',
        newest: '1.0.0',
        reason: 'up to date (1.0.0 is the newest of semver ^1)',
      });
      for (const tag of junk) assert.equal(matchesPolicy(caret1, tag), false, JSON.stringify(tag));
      const preReleases = semverPolicy('>=1.1.0-a <2');
      assert.equal(matchesPolicy(preReleases, `1.1.0-${'a'.repeat(122)}`), true, '128 characters is a tag');
      assert.equal(matchesPolicy(preReleases, `1.1.0-${'a'.repeat(123)}`), false, '129 characters is not');
    });
  });

  describe('pattern', () => {
    const tags = ['main-8-aaaaaaa', 'main-9-bbbbbbb', 'main-10-ccccccc', 'feature-11-ddddddd'];

    it('numerical: sorts the key as a number, so main-10 is after main-9', () => {
      const policy = patternPolicy('^main-(?P<key>[0-9]+)-[0-9a-f]{7}$');
      assert.deepEqual(decide(look(policy, 'main-8-aaaaaaa', tags)), {
        kind: 'adopt',
        tag: 'main-10-ccccccc',
        newest: 'main-10-ccccccc',
      });
    });

    it('alphabetical: sorts the key by its characters, so main-9 is after main-10', () => {
      const policy = patternPolicy('^main-(?<key>[0-9]+)-[0-9a-f]{7}$', 'alphabetical');
      assert.deepEqual(decide(look(policy, 'main-8-aaaaaaa', tags)), {
        kind: 'adopt',
        tag: 'main-9-bbbbbbb',
        newest: 'main-9-bbbbbbb',
      });
    });

    it('matches whole tags only, with RE2 syntax', () => {
      const policy = patternPolicy('main-(?P<key>\\d+)');
      assert.equal(matchesPolicy(policy, 'main-12'), true);
      assert.equal(matchesPolicy(policy, 'main-12-abc'), false);
      assert.equal(matchesPolicy(policy, 'x-main-12'), false);
    });

    it('numerical: a key that is not a decimal integer of at most 15 digits does not match', () => {
      const policy = patternPolicy('^build-(?P<key>[0-9a-z]*)$');
      assert.equal(matchesPolicy(policy, `build-${'9'.repeat(15)}`), true);
      assert.equal(matchesPolicy(policy, `build-${'9'.repeat(16)}`), false);
      assert.equal(matchesPolicy(policy, 'build-12a'), false);
      assert.equal(matchesPolicy(policy, 'build-'), false);
      assert.equal(compareTags(policy, 'build-007', 'build-7'), 0, 'leading zeros sort level');
    });

    it('a key group that takes no part in the match does not match', () => {
      const policy = patternPolicy('^(?:rel-(?P<key>[0-9]+)|nightly)$');
      assert.equal(matchesPolicy(policy, 'rel-3'), true);
      assert.equal(matchesPolicy(policy, 'nightly'), false);
    });

    it('finishes a hostile pattern against 10,000 hostile tags quickly (RE2 does not backtrack)', function () {
      this.timeout(60_000);
      const policy = patternPolicy('^(?P<key>(a+)+)$', 'alphabetical');
      // Each of these would take a backtracking engine 2^120 steps.
      const hostile = Array.from({ length: MAX_CANDIDATES }, (_, i) => `${'a'.repeat(120)}-${i}`);
      const started = Date.now();
      const decision = decide(look(policy, 'aaa', hostile));
      assert.deepEqual(decision, {
        kind: 'wait',
        newest: 'aaa',
        reason: `up to date (aaa is the newest of ${describePolicy(policy)})`,
      });
      assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
    });
  });

  describe('when it waits, and why', () => {
    const policy = semverPolicy('^1');

    it('says it is up to date, naming the newest and the policy', () => {
      assert.deepEqual(decide(look(policy, '1.1.0', ['1.0.0', '1.1.0', '2.0.0'])), {
        kind: 'wait',
        newest: '1.1.0',
        reason: 'up to date (1.1.0 is the newest of semver ^1)',
      });
    });

    it('follows nothing while the current tag is outside the policy (a person pinned it by hand)', () => {
      assert.deepEqual(decide(look(policy, 'latest', ['1.0.0', '1.1.0'])), {
        kind: 'wait',
        newest: '1.1.0',
        reason: 'the current tag "latest" is outside the policy (semver ^1); set a matching tag to start following',
      });
      assert.equal(decide(look(policy, '2.0.0', ['1.0.0', '2.1.0'])).kind, 'wait');
    });

    it('lets a tag mature for minAge, counting from when berth first saw it, and says when it will be adopted', () => {
      const aging = semverPolicy('^1', 600);
      const seen = { '1.0.0': NOW - 60 * MINUTE, '1.2.0': NOW - 5 * MINUTE };
      assert.deepEqual(decide(look(aging, '1.0.0', ['1.0.0', '1.2.0'], { firstSeen: seen })), {
        kind: 'wait',
        newest: '1.2.0',
        reason: '1.2.0 matures at 2026-12-06T22:35:00Z (minAge 600s)',
        maturesAt: NOW + 5 * MINUTE,
      });
      assert.deepEqual(decide(look(aging, '1.0.0', ['1.0.0', '1.2.0'], { firstSeen: seen, now: NOW + 5 * MINUTE })), {
        kind: 'adopt',
        tag: '1.2.0',
        newest: '1.2.0',
      });
    });

    it('counts a tag it has no first sighting of (or an impossible one) as first seen now', () => {
      const aging = semverPolicy('^1', 60);
      const sightings: Record<string, number>[] = [
        {},
        { '1.1.0': Number.NaN },
        { '1.1.0': NOW + 3_600_000 },
        { '1.1.0': 1e300 },
      ];
      for (const firstSeen of sightings) {
        const decision = decide(look(aging, '1.0.0', ['1.1.0'], { firstSeen }));
        assert.deepEqual(decision, {
          kind: 'wait',
          newest: '1.1.0',
          reason: '1.1.0 matures at 2026-12-06T22:31:00Z (minAge 60s)',
          maturesAt: NOW + MINUTE,
        });
      }
      // with no minAge, a tag just seen is adopted at once
      assert.equal(adopted(decide(look(policy, '1.0.0', ['1.1.0'], { firstSeen: {} }))), '1.1.0');
    });

    it('reads no first sighting off the prototype: a tag called "constructor" is first seen now', () => {
      const any = patternPolicy('^(?P<key>[a-z_]+)$', 'alphabetical', 60);
      const decision = decide(look(any, 'a', ['constructor', '__proto__', 'toString'], { firstSeen: {} }));
      assert.equal(decision.kind, 'wait');
      assert.equal(
        decision.kind === 'wait' ? decision.reason : '',
        'constructor matures at 2026-12-06T22:31:00Z (minAge 60s)',
      );
    });

    it('adopts an older mature tag while a newer one matures', () => {
      const aging = semverPolicy('^1', 600);
      const seen = { '1.1.0': NOW - 60 * MINUTE, '1.2.0': NOW - MINUTE };
      assert.deepEqual(decide(look(aging, '1.0.0', ['1.1.0', '1.2.0'], { firstSeen: seen })), {
        kind: 'adopt',
        tag: '1.1.0',
        newest: '1.2.0',
      });
    });

    it('holds after a person moved the tag back, until a tag newer than the floor appears', () => {
      const held = look(policy, '1.0.0', ['1.0.0', '1.1.0', '1.1.1'], { floor: '1.1.1' });
      assert.deepEqual(decide(held), {
        kind: 'wait',
        newest: '1.1.1',
        reason: 'held at 1.0.0 after a rollback: waits for a tag newer than 1.1.1',
      });
      assert.deepEqual(decide({ ...held, candidates: [...held.candidates, '1.1.2'] }), {
        kind: 'adopt',
        tag: '1.1.2',
        newest: '1.1.2',
      });
    });

    it('ignores a floor the policy no longer matches (the policy changed since the rollback)', () => {
      assert.equal(adopted(decide(look(semverPolicy('^2'), '2.0.0', ['2.1.0'], { floor: '1.9.0' }))), '2.1.0');
    });

    it('never adopts a tag berth rolled back itself, and says so', () => {
      const refused = new Set(['1.1.1']);
      assert.deepEqual(decide(look(policy, '1.1.0', ['1.1.0', '1.1.1'], { refused })), {
        kind: 'wait',
        newest: '1.1.1',
        reason: '1.1.1 was rolled back by berth; waits for a newer tag',
      });
      assert.equal(adopted(decide(look(policy, '1.1.0', ['1.1.0', '1.1.1', '1.1.2'], { refused }))), '1.1.2');
      // a refused newer tag does not hide an older one that is allowed
      assert.equal(adopted(decide(look(policy, '1.0.0', ['1.1.0', '1.1.1'], { refused }))), '1.1.0');
    });

    it('looks at the first 10,000 candidates only', () => {
      const many = [...Array.from({ length: MAX_CANDIDATES }, () => '1.0.0'), '1.1.0'];
      assert.equal(decide(look(policy, '1.0.0', many)).kind, 'wait');
      assert.equal(adopted(decide(look(policy, '1.0.0', many.slice(1)))), '1.1.0');
    });

    it('waits, without throwing, on a policy validation would have refused', () => {
      const decision = decide(look(semverPolicy('not a range'), '1.0.0', ['1.1.0']));
      assert.deepEqual(decision, {
        kind: 'wait',
        reason: 'the policy semver not a range cannot be used: "not a range" is not a semver range',
      });
      assert.equal(decide(look(patternPolicy('^(?P<nokey>.*)$'), 'a', ['b'])).kind, 'wait');
    });
  });

  describe('compareTags, matchesPolicy, describePolicy', () => {
    it('sorts by the policy, and refuses to sort a tag the policy does not match', () => {
      const policy = semverPolicy('^1');
      assert.ok(compareTags(policy, '1.0.0', '1.10.0') < 0);
      assert.ok(compareTags(policy, '1.10.0', '1.9.0') > 0);
      assert.throws(() => compareTags(policy, '1.0.0', '2.0.0'), TagOutsidePolicyError);
      assert.throws(() => compareTags(policy, 'latest', '1.0.0'), /tag "latest" is outside the policy semver \^1/);
    });

    it('names a policy as status and plan show it, on one line', () => {
      assert.equal(describePolicy(semverPolicy('>=1.0.0 <2.0.0')), 'semver >=1.0.0 <2.0.0');
      assert.equal(describePolicy(patternPolicy('^main-(?P<key>\\d+)$')), 'pattern ^main-(?P<key>\\d+)$ numerical');
      assert.equal(
        describePolicy(patternPolicy('a\nb(?P<key>x)', 'alphabetical')),
        'pattern a\\nb(?P<key>x) alphabetical',
      );
    });
  });

  describe('properties', () => {
    const RANGES = ['^1', '~1.1', '>=1.0.0 <2.0.0', '>=1.1.0-rc.0 <3', '*', '1.x || 3.x', '<1.2.0'];
    const version = fc
      .tuple(
        fc.boolean(),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 2 }),
        fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
      )
      .map(
        ([v, major, minor, patch, rc]) =>
          `${v ? 'v' : ''}${major}.${minor}.${patch}${rc === undefined ? '' : `-rc.${rc}`}`,
      );
    const junk = fc.oneof(
      fc.constantFrom('latest', '', '1.0', ' 1.0.0', '1.0.0+x', 'constructor'),
      fc.string({ maxLength: 8 }),
    );
    const tag = fc.oneof({ arbitrary: version, weight: 4 }, { arbitrary: junk, weight: 1 });

    /** A look with its tags, sightings, floor and refusals drawn from the same few versions. */
    const looks = fc
      .record({
        range: fc.constantFrom(...RANGES),
        minAge: fc.constantFrom(0, 60, 600),
        currentTag: fc.oneof({ arbitrary: version, weight: 5 }, { arbitrary: junk, weight: 1 }),
        candidates: fc.array(tag, { maxLength: 25 }),
        ages: fc.array(fc.option(fc.integer({ min: 0, max: 1200 }), { nil: undefined }), { maxLength: 25 }),
        floor: fc.option(version, { nil: undefined }),
        refusedPicks: fc.array(fc.nat(), { maxLength: 3 }),
      })
      .map(({ range, minAge, currentTag, candidates, ages, floor, refusedPicks }): PolicyLook => {
        const firstSeen: Record<string, number> = {};
        candidates.forEach((t, i) => {
          const age = ages[i];
          if (age !== undefined && !Object.hasOwn(firstSeen, t)) firstSeen[t] = NOW - age * 1000;
        });
        const refused = new Set(
          candidates.length === 0 ? [] : refusedPicks.map((i) => candidates[i % candidates.length] as string),
        );
        return {
          policy: semverPolicy(range, minAge),
          currentTag,
          candidates,
          firstSeen,
          now: NOW,
          refused,
          ...(floor !== undefined ? { floor } : {}),
        };
      });

    /** The tags the policy may adopt, worked out with semver directly, not through the policy module. */
    function adoptable(l: PolicyLook): string[] {
      const range = (l.policy as { semver: string }).semver;
      const matches = (t: string) =>
        /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(t) && semver.valid(t) !== null && semver.satisfies(t, range);
      if (!matches(l.currentTag)) return [];
      return l.candidates.filter(
        (t) =>
          matches(t) &&
          semver.gt(t, l.currentTag) &&
          (l.floor === undefined || !matches(l.floor) || semver.gt(t, l.floor)) &&
          !l.refused.has(t) &&
          NOW - (Object.hasOwn(l.firstSeen, t) ? (l.firstSeen[t] as number) : NOW) >= l.policy.minAge * 1000,
      );
    }

    it('adopts exactly when some tag may be adopted, and then the newest of them', () => {
      fc.assert(
        fc.property(looks, (l) => {
          const decision = decide(l);
          const allowed = adoptable(l);
          if (allowed.length === 0) {
            assert.equal(decision.kind, 'wait');
            return;
          }
          assert.equal(decision.kind, 'adopt');
          const chosen = adopted(decision) as string;
          assert.ok(allowed.includes(chosen), `${chosen} is adoptable`);
          for (const other of allowed) assert.ok(!semver.gt(other, chosen), `${other} is newer than ${chosen}`);
        }),
        { numRuns: 2000 },
      );
    });

    it('never adopts an older or equal tag, a refused one, one before minAge, or one at or below the floor', () => {
      fc.assert(
        fc.property(looks, (l) => {
          const decision = decide(l);
          if (decision.kind !== 'adopt') return;
          const { tag: chosen } = decision;
          assert.ok(l.candidates.includes(chosen));
          assert.ok(matchesPolicy(l.policy, chosen));
          assert.ok(compareTags(l.policy, chosen, l.currentTag) > 0, 'newer than the current tag');
          assert.ok(!l.refused.has(chosen), 'not refused');
          if (l.floor !== undefined && matchesPolicy(l.policy, l.floor))
            assert.ok(compareTags(l.policy, chosen, l.floor) > 0, 'above the floor');
          const seen = Object.hasOwn(l.firstSeen, chosen) ? (l.firstSeen[chosen] as number) : NOW;
          assert.ok(NOW - seen >= l.policy.minAge * 1000, 'mature');
          assert.ok(compareTags(l.policy, decision.newest, chosen) >= 0, 'newest is at least the adopted tag');
        }),
        { numRuns: 2000 },
      );
    });

    it('decides the same whatever the order of the candidates, and however often one repeats', () => {
      fc.assert(
        fc.property(looks, fc.infiniteStream(fc.nat()), (l, seeds) => {
          const shuffled = [...l.candidates, ...l.candidates.slice(0, 3)]
            .map((t) => ({ t, k: seeds.next().value as number }))
            .sort((a, b) => a.k - b.k)
            .map(({ t }) => t);
          assert.deepEqual(decide({ ...l, candidates: shuffled }), decide(l));
        }),
        { numRuns: 500 },
      );
    });

    it('numerical patterns never move back either, whatever the build numbers', () => {
      const policy = patternPolicy('^main-(?P<key>[0-9]+)-[0-9a-f]{3}$');
      const build = fc
        .tuple(fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom('abc', '0f0', 'fff'))
        .map(([n, sha]) => `main-${n}-${sha}`);
      fc.assert(
        fc.property(
          build,
          fc.array(fc.oneof(build, fc.string({ maxLength: 12 })), { maxLength: 20 }),
          (current, candidates) => {
            const decision = decide({
              policy,
              currentTag: current,
              candidates,
              firstSeen: {},
              now: NOW,
              refused: new Set(),
            });
            const key = (t: string) => Number(t.split('-')[1]);
            const newer = candidates.filter((t) => matchesPolicy(policy, t) && key(t) > key(current));
            if (newer.length === 0) assert.equal(decision.kind, 'wait');
            else assert.equal(key(adopted(decision) as string), Math.max(...newer.map(key)));
          },
        ),
        { numRuns: 1000 },
      );
    });
  });
});
