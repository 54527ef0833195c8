import { strict as assert } from 'node:assert';
import { analyzeManifestText } from '../../../src/manifest/read/analyze.js';
import {
  MAX_PATTERN_PROGRAM_SIZE,
  compileTagPattern,
  estimatedProgramSize,
  semverRangeProblem,
} from '../../../src/manifest/image-policy.js';
import { formatProblem, type App, type LoadOptions } from '../../../src/manifest/types.js';

/** spec.imagePolicy as a manifest author writes it: what is accepted, and what is refused at file:line:col. */
describe('spec.imagePolicy', () => {
  const OPTIONS: LoadOptions = { namespace: 'dokku', allowHostPaths: [] };
  /** A manifest whose spec starts `tag: 1.4.2` on line 6; `policy` lines follow from line 7. */
  const manifest = (...policy: string[]) =>
    ['apiVersion: berth/v1', 'kind: App', 'metadata:', '  name: web', 'spec:', '  tag: 1.4.2', ...policy, ''].join(
      '\n',
    );

  function analyze(text: string): { app?: App; problems: string[] } {
    const analysis = analyzeManifestText(text, 'm.yaml', OPTIONS);
    const result = analysis.documents[0]?.result;
    const problems = [...analysis.problems, ...(result && !result.ok ? result.problems : [])].map(formatProblem);
    return result?.ok ? { app: result.app, problems } : { problems };
  }

  const accepted = (...policy: string[]) => {
    const { app, problems } = analyze(manifest(...policy));
    assert.deepEqual(problems, []);
    assert.ok(app);
    return app.spec.imagePolicy;
  };

  describe('accepted', () => {
    it('is optional: a manifest without it follows nothing', () => {
      assert.equal(accepted(), undefined);
    });

    it('takes a semver range, with interval 300 and minAge 0 by default', () => {
      assert.deepEqual(accepted('  imagePolicy:', '    semver: ">=1.0.0 <2.0.0"'), {
        semver: '>=1.0.0 <2.0.0',
        interval: 300,
        minAge: 0,
      });
      assert.deepEqual(accepted('  imagePolicy: { semver: ^1, interval: 5, minAge: 1209600 }'), {
        semver: '^1',
        interval: 5,
        minAge: 1209600,
      });
    });

    it('takes a pattern with the key group in either spelling, ordered numerically unless told', () => {
      assert.deepEqual(accepted('  imagePolicy:', "    pattern: '^main-(?<key>[0-9]+)-[0-9a-f]{7}$'"), {
        pattern: '^main-(?<key>[0-9]+)-[0-9a-f]{7}$',
        order: 'numerical',
        interval: 300,
        minAge: 0,
      });
      assert.deepEqual(
        accepted(
          '  imagePolicy:',
          "    pattern: '^build-(?P<key>\\d{8}T\\d{4})$'",
          '    order: alphabetical',
          '    interval: 86400',
        ),
        { pattern: '^build-(?P<key>\\d{8}T\\d{4})$', order: 'alphabetical', interval: 86400, minAge: 0 },
      );
    });
  });

  describe('refused at file:line:col', () => {
    const refused = (...policy: string[]) => {
      const { app, problems } = analyze(manifest(...policy));
      assert.equal(app, undefined, 'the manifest is refused');
      return problems;
    };

    it('a semver value that is not a range, quoting the value', () => {
      assert.deepEqual(refused('  imagePolicy:', '    semver: "not a range"'), [
        'm.yaml:8:13: spec.imagePolicy.semver: "not a range" is not a semver range',
      ]);
    });

    it('a long bad range, quoting only its first 64 characters', () => {
      const range = `>=1.0.0 ${'x'.repeat(200)}`;
      assert.deepEqual(refused('  imagePolicy:', `    semver: "${range}"`), [
        `m.yaml:8:13: spec.imagePolicy.semver: "${range.slice(0, 64)}"… (208 characters) is not a semver range`,
      ]);
    });

    it('a pattern without the group named key', () => {
      assert.deepEqual(refused('  imagePolicy:', "    pattern: '^main-([0-9]+)$'"), [
        'm.yaml:8:14: spec.imagePolicy.pattern: "^main-([0-9]+)$" has no group named "key"; write (?P<key>...) around the part tags sort by',
      ]);
    });

    it('a pattern RE2 cannot compile, naming what is wrong, on one line', () => {
      assert.deepEqual(refused('  imagePolicy:', "    pattern: '^main-(?P<key>[0-9]+$'"), [
        'm.yaml:8:14: spec.imagePolicy.pattern: "^main-(?P<key>[0-9]+$" is not an RE2 regular expression (missing closing ): "^main-(?P<key>[0-9]+$")',
      ]);
      // a backreference: what backtracking engines take and RE2 does not
      assert.deepEqual(refused('  imagePolicy:', "    pattern: '(?P<key>a)\\1'"), [
        'm.yaml:8:14: spec.imagePolicy.pattern: "(?P<key>a)\\\\1" is not an RE2 regular expression (invalid escape sequence: "\\\\1")',
      ]);
      const [line] = refused('  imagePolicy:', '    pattern: "(?P<key>a\\n"');
      assert.ok(line);
      assert.doesNotMatch(line, /\n/);
      assert.match(
        line,
        /^m\.yaml:8:14: spec\.imagePolicy\.pattern: "\(\?P<key>a\\n" is not an RE2 regular expression/,
      );
    });

    it('a pattern longer than 256 characters, or one that compiles to too large a program', () => {
      assert.deepEqual(refused('  imagePolicy:', `    pattern: '(?P<key>${'a'.repeat(250)})'`), [
        'm.yaml:8:14: spec.imagePolicy.pattern: must be at most 256 characters long',
      ]);
      assert.deepEqual(refused('  imagePolicy:', "    pattern: '(?P<key>[a-z]{600}[a-z]{600})'"), [
        'm.yaml:8:14: spec.imagePolicy.pattern: "(?P<key>[a-z]{600}[a-z]{600})" compiles to 1204 instructions, more than 1000 (a tag has at most 128 characters: lower the repeat counts)',
      ]);
    });

    it('both semver and pattern, or neither', () => {
      assert.deepEqual(refused('  imagePolicy:', '    semver: ^1', "    pattern: '(?P<key>[0-9]+)'"), [
        'm.yaml:9:5: spec.imagePolicy.pattern: give semver or pattern, not both',
      ]);
      assert.deepEqual(refused('  imagePolicy:', '    interval: 60'), [
        'm.yaml:7:3: spec.imagePolicy: needs semver (a range such as "^1") or pattern (a regular expression with a group named key)',
      ]);
    });

    it('order without pattern, and an order that is not one', () => {
      assert.deepEqual(refused('  imagePolicy:', '    semver: ^1', '    order: numerical'), [
        'm.yaml:9:5: spec.imagePolicy.order: applies only with pattern (semver tags sort by version)',
      ]);
      assert.deepEqual(refused('  imagePolicy:', "    pattern: '(?P<key>[0-9]+)'", '    order: newest'), [
        'm.yaml:9:12: spec.imagePolicy.order: must be "numerical" or "alphabetical", not "newest"',
      ]);
    });

    it('an interval under 5 seconds or over a day, a negative or too long minAge, an unknown field', () => {
      assert.deepEqual(
        refused('  imagePolicy:', '    semver: ^1', '    interval: 4', '    minAge: -1', '    tagFilter: x'),
        [
          'm.yaml:9:15: spec.imagePolicy.interval: must be an integer from 5 to 86400',
          'm.yaml:10:13: spec.imagePolicy.minAge: must be an integer from 0 to 1209600',
          'm.yaml:11:5: spec.imagePolicy.tagFilter: unknown field',
        ],
      );
      assert.deepEqual(refused('  imagePolicy: { semver: ^1, interval: 86401, minAge: 1209601 }'), [
        'm.yaml:7:40: spec.imagePolicy.interval: must be an integer from 5 to 86400',
        'm.yaml:7:55: spec.imagePolicy.minAge: must be an integer from 0 to 1209600',
      ]);
    });
  });

  describe('the rules alone', () => {
    it('compiles a good pattern and hands back the regex, matching whole tags only', () => {
      const compiled = compileTagPattern('main-(?P<key>[0-9]+)');
      assert.ok(compiled.ok);
      assert.equal(compiled.regex.matches('main-12'), true);
      assert.equal(compiled.regex.matches('xmain-12'), false);
    });

    it('bounds a pattern by its program size, not only its length', () => {
      const compiled = compileTagPattern('(?P<key>[a-z]{900})');
      assert.ok(compiled.ok, 'one large repeat is still accepted');
      assert.ok(compiled.regex.programSize() <= MAX_PATTERN_PROGRAM_SIZE);
      assert.equal(compileTagPattern('(?P<key>[a-z]{999})').ok, false);
    });

    it('refuses a pattern far too large from its text, without compiling it', () => {
      // 256 characters that RE2 compiles to ~36,000 instructions, in a third of a second
      const pattern = `(?P<key>(?:${'.{128}'.repeat(40)}){7})`;
      const compiled = compileTagPattern(pattern);
      assert.equal(compiled.ok, false);
      assert.match(compiled.ok ? '' : compiled.problem, /would compile to about \d+ instructions, more than 1000 /);
    });

    it('estimates a program size no smaller than the real one, for patterns people write', () => {
      for (const pattern of [
        '^main-(?P<key>[0-9]+)-[0-9a-f]{7}$',
        '^v?(?P<key>\\d+)\\.(\\d+)$',
        '^build-(?P<key>\\d{8}T\\d{4})$',
        '(?P<key>(?:[a-z]{10}|x{2,5}){3,})',
        '(?i)^rel-(?P<key>[[:digit:]]+)$',
        '(?P<key>[]a-z]{2,})',
        '(?P<key>\\pL{3}|\\x{263a})',
        '(?P<key>a|b|c|d)*',
      ]) {
        const compiled = compileTagPattern(pattern);
        assert.ok(compiled.ok, pattern);
        const real = compiled.regex.programSize();
        assert.ok(estimatedProgramSize(pattern) >= real, `${pattern}: ${estimatedProgramSize(pattern)} < ${real}`);
      }
    });

    it('accepts the ranges semver accepts, strictly', () => {
      for (const range of ['^1', '~1.4', '>=1.0.0 <2.0.0', '1.x', '*', '>=1.2.0-rc.0 <2', '1.0.0 - 1.9.9 || ^3'])
        assert.equal(semverRangeProblem(range), undefined, range);
      for (const range of ['not a range', '^', '>=1.0.0 <', 'latest']) assert.ok(semverRangeProblem(range), range);
    });
  });
});
