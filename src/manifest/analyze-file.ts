/** One manifest file read and analyzed, on whichever thread runs the job (analyze-pool.ts). */
import { analyzeManifestText, failedFile, type FileAnalysis } from './analyze.js';
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

export function analyzeFile(job: AnalyzeJob, options: LoadOptions): AnalyzedFile {
  const read = readManifestFile(job.realPath);
  if ('problem' in read) return { analysis: failedFile([{ file: job.file, line: 1, col: 1, message: read.problem }], job.formerApps) };
  return { analysis: analyzeManifestText(read.text, job.file, options, job.formerApps), stamp: read.stamp };
}
