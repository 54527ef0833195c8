/**
 * A stack trace as the TypeScript source it came from: each frame in a file with a source map
 * beside it (`<file>.map`: the bundles in dist/, tsc's output) is given as the original file and
 * line (`dist/command-run.js:2:23456` becomes `src/reconcile/plan.ts:120:11`), the path as the map
 * names it below the package (`src/...`, `node_modules/...`). For printing an unexpected error:
 * maps are read here, when one is printed, never at start. A frame without a map, or whose map
 * cannot be read or has no entry for it, stays as it was.
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/** `    at name (file:line:col)` or `    at file:line:col`; the file may be a file: URL. */
const FRAME = /^(\s+at (?:.*? \()?)((?:file:\/\/|\/)[^()]*?\.[cm]?js):(\d+):(\d+)(\)?)$/;

export function mappedStack(
  stack: string,
  readMap: (file: string) => string = (file) => readFileSync(file, 'utf8'),
): string {
  const maps = new Map<string, SourceMap | undefined>();
  const mapOf = (file: string): SourceMap | undefined => {
    if (!maps.has(file)) {
      let map: SourceMap | undefined;
      try {
        const payload = JSON.parse(readMap(`${file}.map`)) as { sourcesContent?: unknown };
        // The sources' text is not needed for positions.
        delete payload.sourcesContent;
        map = new SourceMap(payload as ConstructorParameters<typeof SourceMap>[0]);
      } catch {
        map = undefined;
      }
      maps.set(file, map);
    }
    return maps.get(file);
  };
  return stack
    .split('\n')
    .map((line) => {
      const frame = FRAME.exec(line);
      if (frame === null) return line;
      const [, before = '', location = '', lineText = '', columnText = '', after = ''] = frame;
      let file: string;
      try {
        file = location.startsWith('file://') ? fileURLToPath(location) : location;
      } catch {
        return line;
      }
      const entry = mapOf(file)?.findEntry(Number(lineText) - 1, Number(columnText) - 1);
      if (entry === undefined || !('originalSource' in entry) || typeof entry.originalSource !== 'string') return line;
      return `${before}${shownSource(entry.originalSource)}:${entry.originalLine + 1}:${entry.originalColumn + 1}${after}`;
    })
    .join('\n');
}

/** `../src/cli/main.ts` (as the map beside dist/command-run.js names it) -> `src/cli/main.ts`. */
function shownSource(source: string): string {
  const path = source.startsWith('file://') ? fileURLToPath(source) : source;
  return path.replace(/^(?:\.\.?\/)+/, '');
}
