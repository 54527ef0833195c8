/** YAML texts and values for tests of the parser, its events and source positions, and the schema. */
import fc from 'fast-check';
import { dump } from 'js-yaml';

/** YAML that uses every kind of event and position the parser has. */
export const CORPUS = [
  'a: 1\nb: [x, {c: "d"}]\ne:\n  - f\n  -\n  - &g {h: i}\n  - *g\nj: |\n  block\n  text\nk: >-\n  folded\n',
  '%YAML 1.2\n%TAG !e! tag:example.com,2000:\n--- !e!thing\nx: !!str 1\n...\n---\n- "q\\tuoted"\n- \'single\'\n',
  '? [complex, key]\n: value\n? simple\n: other\n"a/b": 1\n"c~d": 2\n"": empty key\nnull: 3\n',
  'list:\n- - nested\n  - deeper: [1, 2, [3]]\n- {flow: map, with: [seq]}\nempty:\nanchored: &x\n  inner: value\nalias: *x\n',
  '# only a comment\n---\n---\nplain\n---\n- a\n- b\n',
  'apiVersion: berth/v1\nkind: App\nmetadata:\n  name: web\nspec:\n  tag: v1\n  ports:\n    - container: 80\n      host: 8080\n  domains: [a.example.com]\n',
  '\uFEFFkey: after a byte-order mark\r\nnext: crlf\r\n',
];

/** Any YAML-representable value, small. */
export const anything: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** Such a value dumped as YAML, in block or flow style. */
export const anyYaml = fc
  .tuple(anything, fc.boolean())
  .map(([value, flow]) => dump(value, { flowLevel: flow ? 1 : -1 }));
