/**
 * One manifest file read and analyzed, on whichever thread runs the job (analyze-pool.ts): in one
 * go, or in two stages on two threads: read and tokenized (the costliest part) on one, then
 * constructed and validated from the tokens on the other. Both ways give the same analysis.
 */
import { analyzeManifestText, failedFile, type FileAnalysis } from './analyze.js';
import { decodeEvents, type EncodedEvents, type EventWriter } from './event-codec.js';
import { tokenizeManifestText, type YamlFailure } from './parse.js';
import { readManifestFile, type FileStamp } from './read-file.js';
import type { LoadOptions } from './types.js';

export interface AnalyzeJob {
  /** How problems name the file. */
  file: string;
  /** Where it is read. */
  realPath: string;
  /** Apps the file defined at the previous read. */
  formerApps: string[];
}

/** The analysis, and the stamp of what was read (none when the file could not be read). */
export interface AnalyzedFile {
  analysis: FileAnalysis;
  stamp?: FileStamp;
}

/**
 * A file read and tokenized: why it could not be read, or its text with either why it is not
 * YAML or the end of its events in the chunk's EncodedEvents (they start at the previous file's end).
 */
export type TokenizedFile = { problem: string } | { text: string; stamp: FileStamp; failure: YamlFailure } | { text: string; stamp: FileStamp; eventsEnd: number };

export function analyzeFile(job: AnalyzeJob, options: LoadOptions): AnalyzedFile {
  const read = readManifestFile(job.realPath);
  if ('problem' in read) return unreadable(job, read.problem);
  return { analysis: analyzeManifestText(read.text, job.file, options, job.formerApps), stamp: read.stamp };
}

/** The first stage: reads the file and writes its events to `events`. */
export function tokenizeFile(job: AnalyzeJob, events: EventWriter): TokenizedFile {
  const read = readManifestFile(job.realPath);
  if ('problem' in read) return read;
  const tokens = tokenizeManifestText(read.text);
  if ('failure' in tokens) return { ...read, failure: tokens.failure };
  return { ...read, eventsEnd: events.write(tokens.events) };
}

/** The second stage, for the files of one chunk in order. */
export function analyzeTokenizedFiles(jobs: readonly AnalyzeJob[], files: readonly TokenizedFile[], events: EncodedEvents, options: LoadOptions): AnalyzedFile[] {
  let eventsStart = 0;
  return files.map((file, i) => {
    const job = jobs[i] as AnalyzeJob;
    if ('problem' in file) return unreadable(job, file.problem);
    const tokens = 'failure' in file ? { failure: file.failure } : { events: decodeEvents(events, eventsStart, (eventsStart = file.eventsEnd)) };
    return { analysis: analyzeManifestText(file.text, job.file, options, job.formerApps, tokens), stamp: file.stamp };
  });
}

function unreadable(job: AnalyzeJob, problem: string): AnalyzedFile {
  return { analysis: failedFile([{ file: job.file, line: 1, col: 1, message: problem }], job.formerApps) };
}
