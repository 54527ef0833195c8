import type { LoadOptions, ManifestProblem, SourcePosition } from '../types.js';
import { parseManifestText, type Tokens } from '../parse.js';
import { validateDocument, type ValidationResult } from '../validate.js';
import { APP_NAME_BODY } from '../app-name.js';

/** The validation outcome of one document, and where it writes its app name. */
interface DocumentAnalysis {
  result: ValidationResult;
  /** The app the document names (valid name only), whether or not it validated. */
  app?: string;
  namePosition: SourcePosition;
}

/**
 * Everything one manifest file's text yields on its own (conflicts need the other files). Read
 * only: a large read keeps one per file, and the empty lists are one shared list.
 */
export interface FileAnalysis {
  /** Problems about the file as a whole (not YAML, unreadable, ...); documents is then empty. */
  readonly problems: readonly ManifestProblem[];
  readonly documents: readonly DocumentAnalysis[];
  /**
   * Apps the file may still define although no valid-named document confirms it (the file
   * could not be parsed, or a document lost its name): they are reported invalid, keeping
   * their last valid state, instead of looking deleted.
   */
  readonly unconfirmedApps: readonly string[];
}

/** The empty list of every analysis that has none; not frozen, since V8 iterates a frozen array more slowly. */
const NONE: readonly never[] = [];

/** `name: web` as a block or flow mapping entry with a valid app name, in a line without its comment. */
const NAME_ENTRY = new RegExp(String.raw`(?:^|[{,\s])name:[ \t]*(["']?)(${APP_NAME_BODY})\1(?=[ \t]*(?:[,}]|$))`, 'g');

/**
 * Parses and validates every document of a manifest file's text (from its tokens when they were
 * made elsewhere). `formerApps` are the apps the file defined before, if known. Pure.
 */
export function analyzeManifestText(
  text: string,
  file: string,
  options: LoadOptions,
  formerApps: readonly string[] = [],
  tokens?: Tokens,
): FileAnalysis {
  const parsed = parseManifestText(text, file, tokens);
  if (parsed.problems.length > 0) return failedFile(parsed.problems, [...appNamesMentioned(text), ...formerApps]);

  const documents: DocumentAnalysis[] = [];
  let lostName = false;
  for (const doc of parsed.documents) {
    const result = validateDocument(doc, file, options);
    const app = result.ok ? result.app.name : result.app;
    const { line, col } = doc.locate('/metadata/name');
    const namePosition = { file, line, col };
    documents.push(app === undefined ? { result, namePosition } : { result, app, namePosition });
    if (!result.ok && app === undefined) lostName = true;
  }
  if (!lostName) return { problems: NONE, documents, unconfirmedApps: NONE };
  const named = new Set(documents.flatMap((doc) => (doc.app === undefined ? [] : [doc.app])));
  return { problems: NONE, documents, unconfirmedApps: [...new Set(formerApps)].filter((app) => !named.has(app)) };
}

/**
 * A file that yields no documents. Its problems name no app even when `apps` has one: a
 * problem without an app tells callers the file may define apps nobody can see.
 */
export function failedFile(problems: readonly ManifestProblem[], apps: readonly string[]): FileAnalysis {
  return { problems: [...problems], documents: [], unconfirmedApps: [...new Set(apps)] };
}

/** Every app a file defines or may define, as far as its analysis knows. */
export function appsOf(analysis: FileAnalysis): string[] {
  const named = analysis.documents.flatMap((doc) => (doc.app === undefined ? [] : [doc.app]));
  return [...new Set([...named, ...analysis.unconfirmedApps])];
}

function appNamesMentioned(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/(?:^|\s)#.*$/, ''))
    .flatMap((code) => Array.from(code.matchAll(NAME_ENTRY), (match) => match[2] as string));
}
