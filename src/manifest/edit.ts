/**
 * In-place edits of manifest text: only the characters of the edited scalar change, so comments,
 * key order, quoting and layout stay exactly as their author wrote them. Pure; the caller reads
 * and writes the file.
 */
import { isDeepStrictEqual } from 'node:util';
import { CORE_SCHEMA, load } from 'js-yaml';
import { parseManifestText, scalarRange, type ParsedDocument } from './parse.js';
import { tagProblem } from './tag.js';
import { ManifestEditError } from './errors.js';

/**
 * Returns `text` with `spec.tag` of the document naming `app` set to `tag`. Throws
 * ManifestEditError when the file does not parse, holds no such app, or writes the tag in a way
 * that cannot be replaced in place (an alias, a block scalar). The result is re-parsed and must
 * equal the original document with only `spec.tag` changed.
 */
export function setSpecTag(text: string, file: string, app: string, tag: string): string {
  const invalid = tagProblem(tag);
  if (invalid !== undefined) throw new ManifestEditError(file, invalid);
  const parsed = parseManifestText(text, file);
  const problem = parsed.problems[0];
  if (problem) throw new ManifestEditError(file, `${file}:${problem.line}:${problem.col}: ${problem.message}`);
  const doc = parsed.documents.find((d) => nameOf(d.value) === app);
  if (!doc) throw new ManifestEditError(file, `${file}: no document names app "${app}"`);

  const position = doc.locate('/spec/tag');
  const range = scalarRange(doc, '/spec/tag');
  const where = `${file}:${position.line}:${position.col}`;
  if (!range || typeof (doc.value as { spec?: { tag?: unknown } }).spec?.tag !== 'string') {
    throw new ManifestEditError(file, `${where}: spec.tag is not written as a plain or quoted string; edit it by hand`);
  }
  if (range.style === 'literal' || range.style === 'folded') {
    throw new ManifestEditError(file, `${where}: spec.tag is a block scalar; edit it by hand`);
  }

  const written = range.style === 'plain' && !readsAsString(tag) ? `'${tag}'` : tag;
  const edited = text.slice(0, range.start) + written + text.slice(range.end);
  assertOnlyTagChanged(doc, edited, file, app, tag, where);
  return edited;
}

/** Plain scalars such as `1.10`, `true` or `0x1F` would be read back as numbers or booleans. */
function readsAsString(tag: string): boolean {
  return (load(`v: ${tag}`, { schema: CORE_SCHEMA }) as { v: unknown }).v === tag;
}

function assertOnlyTagChanged(
  before: ParsedDocument,
  editedText: string,
  file: string,
  app: string,
  tag: string,
  where: string,
): void {
  const after = parseManifestText(editedText, file).documents.find((d) => nameOf(d.value) === app);
  const expected = structuredClone(before.value) as { spec: { tag: string } };
  expected.spec.tag = tag;
  if (!after || !isDeepStrictEqual(after.value, expected)) {
    throw new ManifestEditError(
      file,
      `${where}: setting spec.tag in place would change more than the tag; edit it by hand`,
    );
  }
}

function nameOf(value: unknown): unknown {
  return (value as { metadata?: { name?: unknown } } | null)?.metadata?.name;
}
