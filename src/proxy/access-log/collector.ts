/**
 * The collector: nginx's access-log lines received as syslog datagrams on 127.0.0.1 (I/O).
 *
 * `start()` binds a UDP socket on an ephemeral port of 127.0.0.1 and makes a random token for
 * this run; the canary's nginx block logs `<token> {json}` lines there (`access_log
 * syslog:server=<address>,tag=berth,nohostname <format>`). Every local user can send to that
 * port, so a datagram is read only as far as it must be: one over `maxDatagramBytes` is dropped
 * unread (`oversized`), one not framed as nginx frames it, with another tag, or without the exact
 * token is counted (`rejected`) and never logged; a line with the token that cannot be read is
 * counted `malformed`. The token is worth only as much as the secrecy of the nginx block that
 * holds it (it is written there). Accepted lines go to a bounded `AttemptLog` (the last
 * `capacity` attempts), stamped with nginx's `$msec` and the time they arrived. UDP may drop
 * lines under a burst: the numbers are then a sample, which rates and percentiles tolerate.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/logger.js';
import { parseAccessLine } from './access-line.js';
import { AttemptLog } from './attempt-log.js';
import { revisionStats, type RevisionStats } from './revision-stats.js';
import { parseSyslogFrame } from './syslog-frame.js';

/** What the collector has counted since it started. */
export interface CollectorCounts {
  /** Lines read and kept. */
  accepted: number;
  /** Datagrams not framed as nginx's, with another tag, or without the token. */
  rejected: number;
  /** Datagrams over the size bound, dropped unread. */
  oversized: number;
  /** Lines with the token that could not be read. */
  malformed: number;
}

/** Where nginx sends its lines, and the token they must start with. */
export interface CollectorEndpoint {
  /** `127.0.0.1:PORT`, as `access_log syslog:server=` takes it. */
  address: string;
  token: string;
}

/** The collector's tunables; every one has a default. */
export interface CollectorOptions {
  clock: Clock;
  logger: Logger;
  /** The syslog tag nginx is told to use (`tag=`); the default is `berth`. */
  tag?: string;
  /** The attempts kept overall; 50,000 by default. */
  capacity?: number;
  /** The largest datagram read; 2 KiB by default (a canary line is a few hundred bytes). */
  maxDatagramBytes?: number;
}

/** The socket's receive buffer asked for: about a thousand lines (the kernel counts ~1 KiB each). */
const RECEIVE_BUFFER_BYTES = 1 << 20;

/** Strangers on the port are reported at most once a minute, by count, never by content. */
const REJECTED_WARNING_INTERVAL_MS = 60_000;

/** Receives nginx's access-log datagrams; see the module comment. */
export class AccessLogCollector {
  private socket: Socket | undefined;
  private endpoint: CollectorEndpoint | undefined;
  private readonly log: AttemptLog;
  private readonly tag: string;
  private readonly maxDatagramBytes: number;
  private readonly counts: CollectorCounts = { accepted: 0, rejected: 0, oversized: 0, malformed: 0 };
  private lastRejectedWarningAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: CollectorOptions) {
    this.log = new AttemptLog(options.capacity ?? 50_000);
    this.tag = options.tag ?? 'berth';
    this.maxDatagramBytes = options.maxDatagramBytes ?? 2048;
  }

  /**
   * Binds the socket (once; a second call returns the same endpoint) and resolves with the address
   * and the token for the nginx block. Rejects when the socket cannot be bound.
   */
  async start(): Promise<CollectorEndpoint> {
    if (this.endpoint) return this.endpoint;
    const socket = createSocket({ type: 'udp4' });
    const token = randomBytes(16).toString('hex');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: '127.0.0.1', port: 0, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    try {
      // Room for a burst while the event loop is busy elsewhere (the kernel caps it at rmem_max).
      socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
    } catch {
      // The default buffer still works; lines lost to a burst only thin the sample.
    }
    socket.on('error', (error) => this.options.logger.warn({ err: error.message }, 'access log socket error'));
    socket.on('message', (datagram) => this.receive(datagram));
    this.socket = socket;
    this.endpoint = { address: `127.0.0.1:${socket.address().port}`, token };
    this.options.logger.debug({ address: this.endpoint.address }, 'access log collector listening');
    return this.endpoint;
  }

  /**
   * Each revision's numbers since `since` (ms since the epoch, nginx's `$msec`), by its upstream
   * addresses; see `revisionStats`.
   */
  stats(addressesByRevision: ReadonlyMap<string, readonly string[]>, since: number): Map<string, RevisionStats> {
    return revisionStats(this.log, addressesByRevision, since);
  }

  /** The counters so far (a copy). */
  counted(): CollectorCounts {
    return { ...this.counts };
  }

  /** Closes the socket; the numbers kept stay readable. */
  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private receive(datagram: Buffer): void {
    const endpoint = this.endpoint;
    if (!endpoint) return;
    if (datagram.length > this.maxDatagramBytes) {
      this.counts.oversized++;
      return;
    }
    const frame = parseSyslogFrame(datagram.toString('utf8'));
    const entry = frame && frame.tag === this.tag ? parseAccessLine(frame.message, endpoint.token) : 'token';
    if (entry === 'token') {
      this.counts.rejected++;
      const now = this.options.clock.now();
      if (now - this.lastRejectedWarningAt >= REJECTED_WARNING_INTERVAL_MS) {
        this.lastRejectedWarningAt = now;
        this.options.logger.warn(
          { rejected: this.counts.rejected },
          'datagrams without berth token on the access log port, ignored',
        );
      }
      return;
    }
    if (entry === 'malformed') {
      this.counts.malformed++;
      return;
    }
    this.counts.accepted++;
    this.log.add(entry.at, this.options.clock.now(), entry.attempts);
  }
}
