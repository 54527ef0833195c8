/**
 * What scripts/bundle.mjs changes in js-yaml's ES module build (`js-yaml/dist/js-yaml.mjs`, the
 * build an `import` gets) as it bundles it: the parser's state object. `parseEvents` makes it with
 * object spread, `{ ...DEFAULT_PARSER_OPTIONS, ...options, input, length, position, ... }`, and on
 * Node 20 its parser then runs several times slower than the same parser with the state made any
 * other way (its CommonJS build makes it with a helper that copies the options one by one): the
 * 10,000 manifests of `npm run bench:speed` took 650-1,100 ms to tokenize in one warm process,
 * against 125-160 ms for the CommonJS build and 75-80 ms with `Object.assign`. The same object is made with
 * `Object.assign({}, DEFAULT_PARSER_OPTIONS, options, { input, length, position, ... })`: the same
 * own properties, in the same order, from the parser's options (berth passes `{ maxDepth }`).
 *
 * The build fails if js-yaml's text is not as expected (another version of js-yaml): then this
 * must be looked at again, not skipped.
 */

const SPREAD_STATE = /const state = \{\n\t\t\.\.\.DEFAULT_PARSER_OPTIONS,\n\t\t\.\.\.options,\n([\s\S]*?)\n\t\};\n/g;

/** `source` (js-yaml.mjs) with parseEvents' state made by Object.assign; throws unless it is there exactly once. */
export function withAssignedParserState(source) {
  const found = [...source.matchAll(SPREAD_STATE)];
  if (found.length !== 1)
    throw new Error(
      `js-yaml-parser-state: expected parseEvents' state made by object spread once in js-yaml.mjs, found it ${found.length} times`,
    );
  return source.replace(
    SPREAD_STATE,
    (_, properties) => `const state = Object.assign({}, DEFAULT_PARSER_OPTIONS, options, {\n${properties}\n\t});\n`,
  );
}
