/**
 * The engine's log stream of a container without a TTY multiplexes stdout and stderr in frames:
 * an 8-byte header (stream type 0/1/2, three zero bytes, big-endian uint32 length) and the
 * payload. This returns the payloads in order, as one text; a truncated last frame keeps what arrived.
 */
const HEADER_BYTES = 8;

export function demultiplexLogFrames(stream: Buffer): string {
  const payloads: Buffer[] = [];
  let offset = 0;
  while (offset + HEADER_BYTES <= stream.length) {
    const length = stream.readUInt32BE(offset + 4);
    const start = offset + HEADER_BYTES;
    payloads.push(stream.subarray(start, Math.min(start + length, stream.length)));
    offset = start + length;
  }
  return Buffer.concat(payloads).toString('utf8');
}
