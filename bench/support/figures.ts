import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The median; NaN for no values. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Writes `text` to `path` the way editors save: a hidden temp file renamed over the target. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = join(path, '..', `.${path.split('/').pop()}.tmp`);
  await writeFile(temp, text);
  await rename(temp, path);
}

/** Prints `rows` under `title` and `header`: the first column left-aligned, the others right-aligned, each as wide as its widest cell. */
export function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`;
  console.log(`\n${title}`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}
