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
