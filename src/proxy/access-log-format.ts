/**
 * The machine-readable access log berth asks nginx for, one line per request passed upstream,
 * sent as syslog over UDP (`access_log syslog:server=<address>,tag=berth,nohostname`). Pure.
 *
 * What arrives at the listener, one datagram per request:
 *
 *     <190>Dec  6 23:10:00 berth: <token> {"upstream_addr":"127.0.0.1:32768, 127.0.0.1:32769",...}
 *
 * The syslog header (priority, time, tag `berth`), then the route's token, one space, and a JSON
 * object whose values are all strings (nginx's `escape=json` escapes each variable; `$status` may
 * be `000`, which is no JSON number): the fields of `ACCESS_LOG_FIELDS`, in that order. After a
 * retry `upstream_addr`, `upstream_status` and `upstream_response_time` are lists separated by
 * `, ` (and ` : ` between upstream groups), one entry per attempt; a request nginx answered itself
 * has them empty or `-`.
 */
import type { AccessLogTarget } from './types.js';

/** The syslog tag of every line (nginx: letters, digits and `_`, at most 32). */
export const ACCESS_LOG_TAG = 'berth';

/** The JSON keys of a line, in order, each the nginx variable of the same name. */
export const ACCESS_LOG_FIELDS = [
  'upstream_addr',
  'upstream_status',
  'upstream_response_time',
  'status',
  'request_time',
  'msec',
] as const;

/** A field of a line. */
export type AccessLogField = (typeof ACCESS_LOG_FIELDS)[number];

const TOKEN = /^[A-Za-z0-9_-]{16,128}$/;
const LOOPBACK_ADDRESS = /^(?:127\.0\.0\.1|\[::1\]):([0-9]{1,5})$/;

/**
 * Why `target` cannot be written into an nginx block, or undefined when it can: the address must
 * be a loopback `127.0.0.1:<port>` or `[::1]:<port>` (a line leaving the host would carry the
 * token), the token 16-128 of `[A-Za-z0-9_-]` (nothing nginx would read as syntax). Never quotes
 * the token.
 */
export function accessLogTargetProblem(target: AccessLogTarget): string | undefined {
  const port = LOOPBACK_ADDRESS.exec(target.address)?.[1];
  if (port === undefined || Number(port) < 1 || Number(port) > 65535)
    return `the access log address ${JSON.stringify(target.address.slice(0, 64))} is not 127.0.0.1:<port> or [::1]:<port>`;
  if (!TOKEN.test(target.token)) return 'the access log token is not 16-128 of letters, digits, "_" and "-"';
  return undefined;
}

/**
 * `log_format <name> escape=json '<token> {...}';`: the line (see above). `target` must have
 * passed `accessLogTargetProblem`.
 */
export function renderLogFormat(name: string, target: AccessLogTarget): string {
  const object = ACCESS_LOG_FIELDS.map((field) => `"${field}":"$${field}"`).join(',');
  return `log_format ${name} escape=json '${target.token} {${object}}';`;
}

/** `access_log syslog:...;` for a location, writing lines of the format `name` to `target`. */
export function renderAccessLog(name: string, target: AccessLogTarget): string {
  return `access_log syslog:server=${target.address},tag=${ACCESS_LOG_TAG},nohostname ${name};`;
}
