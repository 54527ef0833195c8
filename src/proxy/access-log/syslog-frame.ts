/**
 * The frame nginx puts around an access-log line it sends to syslog (pure).
 *
 * nginx's `ngx_syslog_add_header` (src/core/ngx_syslog.c) writes, with `nohostname`,
 * `<PRI>TIMESTAMP TAG: ` and then the log line, with no line feed after it: PRI is
 * facility * 8 + severity (local7.info, 190, by default), TIMESTAMP is
 * `ngx_cached_syslog_time`, `"%s %2d %02d:%02d:%02d"` (RFC 3164's `Mmm dd hh:mm:ss`, the day
 * padded with a space: `Dec  6 23:06:06`), and TAG is the `tag=` parameter. Without `nohostname`
 * a hostname sits between the timestamp and the tag; berth always asks for `nohostname`, so such
 * a frame is not berth's and is not read. The timestamp (whole seconds, local time, no year) is
 * not used: the access line carries `$msec`.
 */

/** The tag and the message of one frame. */
export interface SyslogFrame {
  priority: number;
  tag: string;
  message: string;
}

const MONTHS = 'Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec';
const FRAME = new RegExp(`^<(\\d{1,3})>(?:${MONTHS}) [ 1-3]\\d \\d\\d:\\d\\d:\\d\\d ([A-Za-z0-9_]{1,32}): `);

/**
 * Reads one datagram's text as nginx frames it with `nohostname`; `undefined` when it is framed
 * otherwise (then it is not nginx's line for berth). A trailing line feed, which a relay may add,
 * is dropped.
 */
export function parseSyslogFrame(text: string): SyslogFrame | undefined {
  const match = FRAME.exec(text);
  if (!match) return undefined;
  const priority = Number(match[1]);
  if (priority > 191) return undefined;
  const message = text.slice(match[0].length).replace(/\r?\n$/, '');
  return { priority, tag: match[2]!, message };
}
