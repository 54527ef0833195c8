/**
 * One manifest file read and analyzed, on whichever thread runs the job (pool.ts): in one go, or
 * from what a worker read of it and the tokens it made (tokenize-file.ts). Both ways give the same
 * analysis.
 */
import { analyzeManifestText, failedFile, type FileAnalysis } from './analyze.js';
import { eventsOf, type EventBuffer } from '../packed-events.js';
import { readManifestFile, type FileRead, type FileStamp } from './read-file.js';
import type { TokenizedFile } from './tokenize-file.js';
import type { LoadOptions } from '../types.js';

export interface AnalyzeJob {
  /** How problems name the file. */
  file: string;
  /** Where it is read. */
  realPath: string;
  /** Apps the file defined at the previous read. */
  formerApps: readonly string[];
}

/** The analysis, and the stamp of what was read (none when the file could not be read). */
export interface AnalyzedFile {
  analysis: FileAnalysis;
  stamp?: FileStamp;
}

export function analyzeFile(job: AnalyzeJob, options: LoadOptions): AnalyzedFile {
  const read = readManifestFile(job.realPath);
  if ('problem' in read) return unreadable(job, read.problem);
  return { analysis: analyzeManifestText(read.text, job.file, options, job.formerApps), stamp: read.stamp };
}

/**
 * The files of one chunk, in order: what was read of them, and the tokens made of the texts that
 * were read (one per read text, in order), their events in `events`.
 */
export function analyzeTokenizedFiles(
  jobs: readonly AnalyzeJob[],
  reads: readonly FileRead[],
  files: readonly TokenizedFile[],
  events: EventBuffer,
  options: LoadOptions,
): AnalyzedFile[] {
  let eventsStart = 0;
  let next = 0;
  return jobs.map((job, i) => {
    const read = reads[i] as FileRead;
    if ('problem' in read) return unreadable(job, read.problem);
    const file = files[next++] as TokenizedFile;
    const tokens =
      'failure' in file
        ? { failure: file.failure }
        : { events: eventsOf(events, eventsStart, (eventsStart = file.eventsEnd)) };
    return { analysis: analyzeManifestText(read.text, job.file, options, job.formerApps, tokens), stamp: read.stamp };
  });
}

function unreadable(job: AnalyzeJob, problem: string): AnalyzedFile {
  return { analysis: failedFile([{ file: job.file, line: 1, col: 1, message: problem }], job.formerApps) };
}
