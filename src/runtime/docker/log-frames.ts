/**
 * The engine's log stream of a container without a TTY multiplexes stdout and stderr in frames:
 * an 8-byte header (stream type 0/1/2, three zero bytes, big-endian uint32 length) and the
 * payload. LogFrameDemuxer hands on the payloads in order as the stream's chunks arrive (a frame
 * may span chunks, a chunk many frames), keeping nothing but a partial header; a truncated last
 * frame gives what arrived.
 */
const HEADER_BYTES = 8;

export class LogFrameDemuxer {
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerBytes = 0;
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;

  constructor(private readonly payload: (bytes: Buffer) => void) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.remaining > 0) {
        const end = Math.min(chunk.length, offset + this.remaining);
        this.payload(chunk.subarray(offset, end));
        this.remaining -= end - offset;
        offset = end;
        continue;
      }
      const take = Math.min(HEADER_BYTES - this.headerBytes, chunk.length - offset);
      chunk.copy(this.header, this.headerBytes, offset, offset + take);
      this.headerBytes += take;
      offset += take;
      if (this.headerBytes === HEADER_BYTES) {
        this.remaining = this.header.readUInt32BE(4);
        this.headerBytes = 0;
      }
    }
  }
}

/** The payloads of a whole stream, in order, as one text. */
export function demultiplexLogFrames(stream: Buffer): string {
  const payloads: Buffer[] = [];
  new LogFrameDemuxer((bytes) => payloads.push(bytes)).push(stream);
  return Buffer.concat(payloads).toString('utf8');
}
