/**
 * In-place edits of manifest text: only the characters of the edited scalar change, so comments,
 * key order, quoting and layout stay exactly as their author wrote them. Pure; the caller reads
 * and writes the file.
 */
import { isDeepStrictEqual } from 'node:util';
import { CORE_SCHEMA, load } from 'js-yaml';
import { parseManifestText, scalarRange, type ParsedDocument } from './parse.js';
import type { ScalarRange } from './source-map.js';
import { quote } from './printable.js';
import { tagProblem } from './tag.js';
import { ManifestEditError } from './errors.js';

/** What an image policy writes into a manifest: the tag, and the digest that goes with it. */
export interface SpecImage {
  tag: string;
  /** `sha256:<64 hex>`; written only where the manifest already pins a digest. */
  digest?: string;
}

/** The schema's pattern for `spec.digest`. */
const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

/**
 * Returns `text` with `spec.tag` of the document naming `app` set to `tag`; a `spec.digest` the
 * manifest pins stays as it is (`tags:deploy` checks the new tag against the pin first). Throws
 * ManifestEditError when the file does not parse, holds no such app, or writes the tag in a way
 * that cannot be replaced in place (an alias, a block scalar). The result is re-parsed and must
 * equal the original document with only `spec.tag` changed.
 */
export function setSpecTag(text: string, file: string, app: string, tag: string): string {
  return editSpecImage(text, file, app, tag, 'keep');
}

/**
 * Returns `text` with `spec.tag` of the document naming `app` set to `to.tag` and, when the
 * manifest pins a `spec.digest`, that set to `to.digest`. A digest given for a manifest that pins
 * none is not added; a pinned digest with none given is refused (it would be left stale). Only the
 * characters of those scalars change: comments, key order, quoting and layout stay. Throws
 * ManifestEditError (one line, naming `file` and the position) as setSpecTag does, and for a
 * digest that is not `sha256:<64 hex>`. The result is re-parsed and must equal the original
 * document with only those fields changed.
 */
export function setSpecImage(text: string, file: string, app: string, to: SpecImage): string {
  if (to.digest !== undefined && !DIGEST_PATTERN.test(to.digest))
    throw new ManifestEditError(file, `${file}: ${quote(to.digest)} is not a digest (sha256:<64 hex>)`);
  return editSpecImage(text, file, app, to.tag, to.digest);
}

/** The in-place edit; `digest` 'keep' leaves a pinned digest untouched (setSpecTag). */
function editSpecImage(
  text: string,
  file: string,
  app: string,
  tag: string,
  digest: string | undefined | 'keep',
): string {
  const invalid = tagProblem(tag);
  if (invalid !== undefined) throw new ManifestEditError(file, invalid);
  const parsed = parseManifestText(text, file);
  const problem = parsed.problems[0];
  if (problem) throw new ManifestEditError(file, `${file}:${problem.line}:${problem.col}: ${problem.message}`);
  const doc = parsed.documents.find((d) => nameOf(d.value) === app);
  if (!doc) throw new ManifestEditError(file, `${file}: no document names app "${app}"`);

  const spec = (doc.value as { spec?: Record<string, unknown> }).spec;
  const edits = [{ ...editableScalar(doc, file, 'tag'), value: tag }];
  const pinned = spec !== null && typeof spec === 'object' && Object.hasOwn(spec, 'digest');
  if (pinned && digest !== 'keep') {
    const scalar = editableScalar(doc, file, 'digest');
    if (digest === undefined) {
      throw new ManifestEditError(
        file,
        `${scalar.where}: spec.digest pins ${quote(String(spec.digest))}; a new tag needs its digest, or the pin would be left stale`,
      );
    }
    edits.push({ ...scalar, value: digest });
  }

  let edited = text;
  for (const edit of [...edits].sort((a, b) => b.range.start - a.range.start)) {
    const written = edit.range.style === 'plain' && !readsAsString(edit.value) ? `'${edit.value}'` : edit.value;
    edited = edited.slice(0, edit.range.start) + written + edited.slice(edit.range.end);
  }
  assertOnlyImageChanged(doc, edited, file, app, edits, edits[0]?.where ?? file);
  return edited;
}

/** Where `spec.<field>` is written, if it can be replaced in place (a plain or quoted string). */
function editableScalar(
  doc: ParsedDocument,
  file: string,
  field: 'tag' | 'digest',
): { field: 'tag' | 'digest'; range: ScalarRange; where: string } {
  const pointer = `/spec/${field}`;
  const position = doc.locate(pointer);
  const range = scalarRange(doc, pointer);
  const where = `${file}:${position.line}:${position.col}`;
  const value = (doc.value as { spec?: Record<string, unknown> }).spec?.[field];
  if (!range || typeof value !== 'string') {
    throw new ManifestEditError(
      file,
      `${where}: spec.${field} is not written as a plain or quoted string; edit it by hand`,
    );
  }
  if (range.style === 'literal' || range.style === 'folded') {
    throw new ManifestEditError(file, `${where}: spec.${field} is a block scalar; edit it by hand`);
  }
  return { field, range, where };
}

/** Plain scalars such as `1.10`, `true` or `0x1F` would be read back as numbers or booleans. */
function readsAsString(tag: string): boolean {
  return (load(`v: ${tag}`, { schema: CORE_SCHEMA }) as { v: unknown }).v === tag;
}

function assertOnlyImageChanged(
  before: ParsedDocument,
  editedText: string,
  file: string,
  app: string,
  edits: { field: 'tag' | 'digest'; value: string }[],
  where: string,
): void {
  const after = parseManifestText(editedText, file).documents.find((d) => nameOf(d.value) === app);
  const expected = structuredClone(before.value) as { spec: Record<string, unknown> };
  for (const edit of edits) expected.spec[edit.field] = edit.value;
  if (!after || !isDeepStrictEqual(after.value, expected)) {
    const what = edits.length > 1 ? 'spec.tag and spec.digest' : 'spec.tag';
    const more = edits.length > 1 ? 'them' : 'the tag';
    throw new ManifestEditError(
      file,
      `${where}: setting ${what} in place would change more than ${more}; edit it by hand`,
    );
  }
}

function nameOf(value: unknown): unknown {
  return (value as { metadata?: { name?: unknown } } | null)?.metadata?.name;
}
