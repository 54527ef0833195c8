/** Left-aligned columns separated by at least two spaces; the last column is not padded. */
export function formatTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n') + '\n';
}

/** "3s", "5m", "2h", "4d": how long ago `then` was. */
export function age(now: number, then: number | undefined): string {
  if (then === undefined) return '-';
  const seconds = Math.max(0, Math.floor((now - then) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** "3 seconds ago", "About a minute ago", "5 minutes ago", "2 hours ago", "4 days ago": Docker's wording. */
export function timeAgo(now: number, then: number): string {
  const seconds = Math.max(0, Math.floor((now - then) / 1000));
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'} ago`;
  if (seconds < 60) return plural(seconds, 'second');
  if (seconds < 120) return 'About a minute ago';
  if (seconds < 3600) return plural(Math.floor(seconds / 60), 'minute');
  if (seconds < 172800) return plural(Math.floor(seconds / 3600), 'hour');
  return plural(Math.floor(seconds / 86400), 'day');
}

/** Docker's SI sizes: "1.98MB", "512kB", "1.03GB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : Number(value.toPrecision(3))}${units[unit]}`;
}
