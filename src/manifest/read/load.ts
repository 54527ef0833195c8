import { readdirSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import type { App, DirectoryState, LoadOptions, ManifestProblem, ManifestSet } from '../types.js';
import { appsOf, failedFile, type FileAnalysis } from './analyze.js';
import { AnalyzePool } from './pool.js';
import { osReason, stampOf, type FileStamp } from './read-file.js';
import { isManifestFileName } from './ignore.js';
import { printable } from '../printable.js';
import { collisionProblems, findCollisions } from '../claims.js';

const MAX_DIRECTORY_DEPTH = 8;
/** The place of a file in the list until its analysis comes. */
const UNREAD = failedFile([], []);
const READ_BATCH = 200;
/** The former apps of a file never read before. */
const NO_APPS: readonly string[] = [];

/** A manifest file to read: `file` is how problems name it, `realPath` where it is. */
interface Candidate {
  file: string;
  realPath: string;
}

/** What scanning one path (a directory, or a named file) found. */
interface Scan {
  state: DirectoryState;
  candidates: Candidate[];
  /** Manifest-named entries refused before reading (broken or escaping symlinks, ...). */
  refused: ManifestProblem[];
  /** Problems with directories themselves. */
  problems: ManifestProblem[];
}

interface CachedAnalysis extends FileStamp {
  realPath: string;
  analysis: FileAnalysis;
}

/**
 * Analyses by the file's display path, reused while the file's identity and stat are
 * unchanged. An entry also remembers which apps the file defined, so that when the file
 * turns unreadable or unparseable those apps are reported invalid rather than deleted.
 */
type AnalysisCache = Map<string, CachedAnalysis>;

/**
 * The watched manifest directory. Each read() lists it afresh (the path is resolved every
 * time, so a symlink swapped by git-sync is followed) and re-parses only files whose
 * (realpath, size, mtime, ctime, inode) changed since the previous read. The Apps returned
 * are shared with later reads and must not be modified.
 */
export class ManifestDirectory {
  private cache: AnalysisCache = new Map();

  constructor(
    readonly dir: string,
    private readonly options: LoadOptions,
  ) {}

  async read(): Promise<ManifestSet> {
    const pool = new AnalyzePool(this.options);
    // Only a first read reads every file: later ones read the files that changed.
    const scan = scanDirectory(this.dir, this.cache.size === 0 ? pool : undefined);
    const { set, cache } = await assemble([scan], this.options, this.cache, pool);
    this.cache = cache ?? new Map();
    return set;
  }
}

/**
 * Reads manifest files and directories given on a command line (files are read whatever
 * their name); apps defined more than once across all of them are conflicts.
 */
export async function loadPaths(paths: readonly string[], options: LoadOptions): Promise<ManifestSet> {
  const pool = new AnalyzePool(options);
  const scans = paths.map((p) => scanPath(p, pool));
  const { set } = await assemble(scans, options, null, pool);
  return set;
}

/** `pool`, when every file found is to be read: told how many a large directory holds, as soon as its listing says. */
function scanPath(target: string, pool?: AnalyzePool): Scan {
  let stats: Stats;
  try {
    stats = statSync(target);
  } catch (error) {
    return rootFailure(target, error);
  }
  if (stats.isDirectory()) return scanDirectory(target, pool);
  return { state: 'ok', candidates: [{ file: target, realPath: path.resolve(target) }], refused: [], problems: [] };
}

function scanDirectory(dir: string, pool?: AnalyzePool): Scan {
  let realRoot: string;
  let entries: Dirent[];
  try {
    realRoot = realpathSync(dir);
    entries = readdirSync(realRoot, { withFileTypes: true });
  } catch (error) {
    return rootFailure(dir, error);
  }
  // The workers start now, and get ready while the rest is listed.
  pool?.expect(entries.reduce((count, entry) => (isManifestFileName(entry.name) ? count + 1 : count), 0));
  const scan: Scan = { state: 'ok', candidates: [], refused: [], problems: [] };
  walk(scan, realRoot, dir, realRoot, entries, 0, new Set([realRoot]));
  if (scan.candidates.length + scan.refused.length === 0) scan.state = 'empty';
  return scan;
}

function rootFailure(target: string, error: unknown): Scan {
  const missing = errorCode(error) === 'ENOENT';
  return {
    state: missing ? 'missing' : 'unreadable',
    candidates: [],
    refused: [],
    problems: [atStart(target, missing ? 'does not exist' : `cannot be read (${osReason(error)})`)],
  };
}

/**
 * Adds the manifest files among `entries` (of `realDir`) and below to `scan`, skipping hidden
 * entries and refusing symlinks that leave `realRoot`.
 */
function walk(
  scan: Scan,
  realRoot: string,
  displayDir: string,
  realDir: string,
  entries: Dirent[],
  depth: number,
  visited: Set<string>,
): void {
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // path.join(dir, name) for a name without a slash, without normalizing dir again for every entry.
  const displayPrefix = joinPrefix(displayDir);
  const realPrefix = joinPrefix(realDir);

  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const file = displayPrefix + entry.name;
    let realPath = realPrefix + entry.name;
    let isDirectory = entry.isDirectory();
    let isFile = entry.isFile();

    if (entry.isSymbolicLink()) {
      try {
        realPath = realpathSync(realPath);
        const target = statSync(realPath);
        isDirectory = target.isDirectory();
        isFile = target.isFile();
      } catch (error) {
        if (isManifestFileName(entry.name)) scan.refused.push(atStart(file, `broken symlink (${osReason(error)})`));
        continue;
      }
      if (!isPathWithin(realPath, realRoot) && (isDirectory || isManifestFileName(entry.name))) {
        const refused = isDirectory ? scan.problems : scan.refused;
        refused.push(atStart(file, 'symlink points outside the manifest directory'));
        continue;
      }
    }

    if (isDirectory) {
      if (visited.has(realPath)) continue;
      if (depth + 1 > MAX_DIRECTORY_DEPTH) {
        scan.problems.push(
          atStart(file, `directory is nested more than ${MAX_DIRECTORY_DEPTH} levels deep; its manifests are not read`),
        );
        continue;
      }
      visited.add(realPath);
      let subEntries: Dirent[];
      try {
        subEntries = readdirSync(realPath, { withFileTypes: true });
      } catch (error) {
        scan.problems.push(atStart(file, `directory cannot be read (${osReason(error)})`));
        continue;
      }
      walk(scan, realRoot, file, realPath, subEntries, depth + 1, visited);
    } else if (isManifestFileName(entry.name)) {
      if (isFile) scan.candidates.push({ file, realPath });
      else scan.refused.push(atStart(file, 'not a regular file'));
    }
  }
}

/**
 * Reuses the cached analysis of every unchanged candidate and reads and analyzes the others
 * (on worker threads too when there are many: pool.ts), then combines all files into one
 * ManifestSet. Synchronous file access is much faster than the thread pool for many small
 * files; the event loop gets a turn every READ_BATCH files.
 */
/** With `cache` null (a one-off read), no cache is kept or returned. */
async function assemble(
  scans: readonly Scan[],
  options: LoadOptions,
  cache: AnalysisCache | null,
  pool: AnalyzePool,
): Promise<{ set: ManifestSet; cache: AnalysisCache | null }> {
  const byRealPath = new Map<string, Candidate>();
  for (const candidate of scans.flatMap((s) => s.candidates)) {
    if (!byRealPath.has(candidate.realPath)) byRealPath.set(candidate.realPath, candidate);
  }
  const candidates = [...byRealPath.values()];
  // A one-off read (cache null) keeps no cache: nothing would read it.
  const nextCache: AnalysisCache | null = cache === null ? null : new Map();
  const files: Array<{ file: string; analysis: FileAnalysis }> = [];
  // The files read, in the order the pool gives their analyses: where each goes, what it was.
  // Arrays side by side rather than an object per file, which a large read keeps to its end.
  const unreadFiles: Array<{ file: string; analysis: FileAnalysis }> = [];
  const unreadCandidates: Candidate[] = [];
  const unreadFormer: Array<CachedAnalysis | undefined> = [];
  for (let index = 0; index < candidates.length; index++) {
    if (index > 0 && index % READ_BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
    const candidate = candidates[index] as Candidate;
    const former = cache?.get(candidate.file);
    if (former !== undefined && isUnchanged(candidate, former)) {
      nextCache?.set(candidate.file, former);
      files.push({ file: candidate.file, analysis: former.analysis });
    } else {
      const entry = { file: candidate.file, analysis: UNREAD };
      files.push(entry);
      unreadFiles.push(entry);
      unreadCandidates.push(candidate);
      unreadFormer.push(former);
      pool.add({
        file: candidate.file,
        realPath: candidate.realPath,
        formerApps: former === undefined ? NO_APPS : appsOf(former.analysis),
      });
    }
  }
  const analyses = await pool.finish();
  analyses.forEach(({ analysis, stamp }, i) => {
    const { file, realPath } = unreadCandidates[i] as Candidate;
    const former = unreadFormer[i];
    if (stamp !== undefined) nextCache?.set(file, { realPath, ...stamp, analysis });
    // Unreadable: the analysis it had stays cached, for the apps it defined.
    else if (former !== undefined) nextCache?.set(file, former);
    (unreadFiles[i] as { analysis: FileAnalysis }).analysis = analysis;
  });
  for (const problem of scans.flatMap((s) => s.refused)) {
    files.push({ file: problem.file, analysis: failedRead(problem.file, problem.message, cache, nextCache) });
  }
  files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));

  return {
    set: combine(
      files,
      scans.flatMap((s) => s.problems),
      directoryState(scans),
      files.length,
      options,
    ),
    cache: nextCache,
  };
}

/** Turns per-file analyses into a ManifestSet; apps named by several documents become conflicts. */
function combine(
  files: ReadonlyArray<{ file: string; analysis: FileAnalysis }>,
  directoryProblems: readonly ManifestProblem[],
  directory: DirectoryState,
  fileCount: number,
  options: LoadOptions,
): ManifestSet {
  const namedTimes = new Map<string, number>();
  for (const { analysis } of files) {
    for (const doc of analysis.documents)
      if (doc.app !== undefined) namedTimes.set(doc.app, (namedTimes.get(doc.app) ?? 0) + 1);
  }
  // Where each app defined more than once is named, for the conflict messages.
  const namings = new Map<string, string[]>();
  for (const { analysis } of files) {
    for (const doc of analysis.documents) {
      if (doc.app === undefined || namedTimes.get(doc.app) === 1) continue;
      const where = `${printable(doc.namePosition.file)}:${doc.namePosition.line}:${doc.namePosition.col}`;
      namings.set(doc.app, [...(namings.get(doc.app) ?? []), where]);
    }
  }

  const apps = new Map<string, App>();
  const conflicts = new Map<string, string[]>();
  const invalid = new Set<string>();
  const unconfirmed = new Set<string>();
  const problems: ManifestProblem[] = [...directoryProblems];
  for (const { file, analysis } of files) {
    problems.push(...analysis.problems);
    for (const app of analysis.unconfirmedApps) unconfirmed.add(app);
    for (const doc of analysis.documents) {
      // Most documents: a valid app defined once.
      if (doc.result.ok && namedTimes.get(doc.result.app.name) === 1) {
        apps.set(doc.result.app.name, doc.result.app);
        continue;
      }
      const documentProblems = doc.result.ok ? [] : [...doc.result.problems];
      const places = doc.app === undefined ? [] : (namings.get(doc.app) ?? []);
      if (doc.app !== undefined && places.length > 1) {
        const here = `${printable(doc.namePosition.file)}:${doc.namePosition.line}:${doc.namePosition.col}`;
        const elsewhere = places.filter((p) => p !== here).join(', ');
        documentProblems.push({
          ...doc.namePosition,
          message: `app "${doc.app}" is also defined in ${elsewhere}`,
          app: doc.app,
        });
        conflicts.set(doc.app, [...new Set([...(conflicts.get(doc.app) ?? []), file])]);
      }
      if (!doc.result.ok && doc.app !== undefined) invalid.add(doc.app);
      problems.push(...documentProblems.sort((a, b) => a.line - b.line || a.col - b.col));
    }
  }
  for (const app of unconfirmed) {
    apps.delete(app);
    invalid.add(app);
  }
  const collisions = findCollisions(
    apps.values(),
    options.defaultDomain !== undefined ? { defaultDomain: options.defaultDomain } : {},
  );
  const errors = collisions.filter((c) => c.severity === 'error');
  problems.push(...collisionProblems(errors));
  return {
    apps,
    problems,
    warnings: [
      ...[...apps.values()].flatMap((app) => app.warnings ?? []),
      ...collisionProblems(collisions.filter((c) => c.severity === 'warning')),
    ],
    collisions: errors,
    conflicts,
    invalid,
    fileCount,
    directory,
  };
}

function directoryState(scans: readonly Scan[]): DirectoryState {
  if (scans.some((s) => s.state === 'ok')) return 'ok';
  for (const state of ['unreadable', 'missing'] as const) if (scans.some((s) => s.state === state)) return state;
  return 'empty';
}

/**
 * Whether the file is unchanged since `cached` was read (same real path, size, times and inode;
 * one stat). A file never read before is not stat'ed at all: its reader's fstat gives its stamp.
 */
function isUnchanged(candidate: Candidate, cached: CachedAnalysis): boolean {
  if (cached.realPath !== candidate.realPath) return false;
  let stamp: FileStamp;
  try {
    stamp = stampOf(statSync(candidate.realPath));
  } catch {
    return false;
  }
  return (
    cached.size === stamp.size &&
    cached.mtimeMs === stamp.mtimeMs &&
    cached.ctimeMs === stamp.ctimeMs &&
    cached.ino === stamp.ino
  );
}

/** A file whose content cannot be had: one problem, and the apps it defined before stay unconfirmed. */
function failedRead(
  file: string,
  message: string,
  previous: AnalysisCache | null,
  next: AnalysisCache | null,
): FileAnalysis {
  const cached = previous?.get(file);
  if (cached === undefined) return failedFile([atStart(file, message)], []);
  next?.set(file, cached);
  return failedFile([atStart(file, message)], appsOf(cached.analysis));
}

function atStart(file: string, message: string): ManifestProblem {
  return { file, line: 1, col: 1, message };
}

/** What path.join(dir, name) puts before `name`, for any entry name of dir. */
function joinPrefix(dir: string): string {
  return path.join(dir, '_').slice(0, -1);
}

function isPathWithin(candidate: string, root: string): boolean {
  const relative = path.relative(root, candidate);
  return relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error ? String(error.code) : undefined;
}
