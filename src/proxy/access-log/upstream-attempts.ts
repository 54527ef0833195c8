/**
 * nginx's upstream lists split into attempts (pure).
 *
 * After a retry (`proxy_next_upstream`), `$upstream_addr`, `$upstream_status` and
 * `$upstream_response_time` each list every attempt in the same order, `, ` between two attempts
 * and ` : ` where nginx moved to another upstream group (an internal redirect); nginx writes all
 * three from one array (`ngx_http_upstream_addr_variable` and its siblings in
 * src/http/ngx_http_upstream.c), so the n-th items belong together. A failed connection or a
 * timeout shows the status nginx gave the attempt (502, 504) and often `-` as its time; a status of
 * `-` means no answer was read (the client went away first). When no server of the group was
 * available, the address is the group's name rather than an address.
 */

/** One attempt at one upstream. */
export interface UpstreamAttempt {
  /** `host:port` (or `unix:/path`, or the group's name when no server was available). */
  address: string;
  /** The upstream's status, or nginx's 502/504 for a failed connection/timeout; `undefined` for `-`. */
  status?: number;
  /** The upstream response time in ms; `undefined` for `-`. */
  responseMs?: number;
}

const SEPARATOR = /, | : /;

/**
 * The attempts of one request; `[]` when nginx used no upstream (all three empty, or `-`);
 * `undefined` when the lists disagree in length or an item is unreadable.
 */
export function splitUpstreamAttempts(
  addresses: string,
  statuses: string,
  responseTimes: string,
): UpstreamAttempt[] | undefined {
  if (addresses === '' || addresses === '-') return statuses === '' || statuses === '-' ? [] : undefined;
  const addressList = addresses.split(SEPARATOR);
  const statusList = statuses.split(SEPARATOR);
  const timeList = responseTimes.split(SEPARATOR);
  if (statusList.length !== addressList.length || timeList.length !== addressList.length) return undefined;
  const attempts: UpstreamAttempt[] = [];
  for (const [i, address] of addressList.entries()) {
    const status = statusList[i]!;
    const time = timeList[i]!;
    if (address === '' || !(status === '-' || /^\d{3}$/.test(status))) return undefined;
    const match = /^(\d{1,9})\.(\d{3})$/.exec(time);
    if (!match && time !== '-') return undefined;
    const attempt: UpstreamAttempt = { address };
    if (status !== '-') attempt.status = Number(status);
    if (match) attempt.responseMs = Number(match[1]) * 1000 + Number(match[2]);
    attempts.push(attempt);
  }
  return attempts;
}
