/**
 * Reading one manifest file, on a reading worker or on the thread that analyzes it: the text, and
 * the stamp (size, times, inode) that tells a later read whether the file changed. Whatever the
 * file turned into since it was listed (grown, swapped for a FIFO, binary), a read costs no more
 * than the size limit, never blocks, and fails with a one-line reason.
 */
import { isUtf8 } from 'node:buffer';
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/** Larger files are refused unread: with parse's limits, this bounds the memory and time any file costs. */
const MAX_FILE_BYTES = 1024 * 1024;
const TOO_LARGE_MESSAGE = 'file is larger than 1 MiB';

/** What identifies a file's content without reading it. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

export type FileRead = { text: string; stamp: FileStamp } | { problem: string };

export function stampOf(stats: Stats): FileStamp {
  return { size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs, ino: stats.ino };
}

export function readManifestFile(realPath: string): FileRead {
  let fd: number;
  try {
    fd = openSync(realPath, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return { problem: `cannot read file (${osReason(error)})` };
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { problem: 'not a regular file' };
    if (stats.size > MAX_FILE_BYTES) return { problem: TOO_LARGE_MESSAGE };
    const bytes = readAtMost(fd, stats.size, MAX_FILE_BYTES);
    if (bytes === undefined) return { problem: TOO_LARGE_MESSAGE };
    if (!isUtf8(bytes)) return { problem: 'not a text file (not valid UTF-8)' };
    const text = bytes.toString('utf8');
    if (text.includes('\u0000')) return { problem: 'not a text file (contains NUL bytes)' };
    return { text, stamp: stampOf(stats) };
  } catch (error) {
    return { problem: `cannot read file (${osReason(error)})` };
  } finally {
    closeSync(fd);
  }
}

/**
 * At most `limit` + 1 bytes of regular file `fd`, whatever its size is now; undefined past the
 * limit. A regular file reads short only at its end, so a file that did not grow takes one read.
 * The bytes are in a buffer this thread reads every file into: they are good until the next read.
 */
function readAtMost(fd: number, expectedSize: number, limit: number): Buffer | undefined {
  let buffer =
    readBuffer.length > expectedSize ? readBuffer : Buffer.allocUnsafeSlow(Math.min(expectedSize, limit) + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > limit) return undefined;
      buffer = Buffer.concat([buffer], limit + 1);
    }
    const wanted = buffer.length - length;
    const read = readSync(fd, buffer, length, wanted, null);
    length += read;
    if (read < wanted) {
      // Kept for the next files, up to the limit: most manifests are a few KiB.
      if (buffer.length > readBuffer.length) readBuffer = buffer;
      return buffer.subarray(0, length);
    }
  }
}

/** What readAtMost reads into, grown to the largest file read yet. */
let readBuffer = Buffer.allocUnsafeSlow(64 * 1024);

/** "EACCES: permission denied" from a Node fs error, without the path. */
export function osReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.message.replace(/, \w+ '.*'$/s, '');
}
