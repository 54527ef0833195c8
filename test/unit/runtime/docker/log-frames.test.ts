import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { demultiplexLogFrames, LogFrameDemuxer } from '../../../../src/runtime/docker/log-frames.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header.writeUInt8(stream, 0);
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('demultiplexLogFrames', function () {
  it('joins stdout and stderr payloads in stream order, without headers', function () {
    const raw = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err ü\n'), frame(1, 'out 2\n')]);
    assert.equal(demultiplexLogFrames(raw), 'out 1\nerr ü\nout 2\n');
  });

  it('keeps what arrived of a truncated last frame', function () {
    const raw = Buffer.concat([frame(1, 'whole\n'), frame(2, 'cut off').subarray(0, 11)]);
    assert.equal(demultiplexLogFrames(raw), 'whole\ncut');
  });

  it('is empty for an empty stream', function () {
    assert.equal(demultiplexLogFrames(Buffer.alloc(0)), '');
  });
});

describe('LogFrameDemuxer (the stream as it arrives, in chunks)', function () {
  it('hands on the same payloads however the stream is cut into chunks, headers split included', function () {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom<1 | 2>(1, 2), fc.string({ maxLength: 40 }))),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, cuts) => {
          const raw = Buffer.concat(frames.map(([stream, text]) => frame(stream, text)));
          const points = [...new Set(cuts.map((c) => c % (raw.length + 1)))].sort((a, b) => a - b);
          const payloads: Buffer[] = [];
          const demuxer = new LogFrameDemuxer((bytes) => payloads.push(Buffer.from(bytes)));
          let from = 0;
          for (const point of [...points, raw.length]) {
            demuxer.push(raw.subarray(from, point));
            from = point;
          }
          assert.equal(Buffer.concat(payloads).toString('utf8'), frames.map(([, text]) => text).join(''));
        },
      ),
    );
  });

  it('keeps nothing of a payload it handed on: a frame of 100 MB passes through in pieces', function () {
    const header = Buffer.alloc(8);
    header.writeUInt8(1, 0);
    header.writeUInt32BE(100_000_000, 4);
    let total = 0;
    let largest = 0;
    const demuxer = new LogFrameDemuxer((bytes) => {
      total += bytes.length;
      largest = Math.max(largest, bytes.length);
    });
    demuxer.push(header);
    const chunk = Buffer.alloc(65_536, 'x');
    for (let sent = 0; sent < 100_000_000; sent += chunk.length)
      demuxer.push(chunk.subarray(0, Math.min(chunk.length, 100_000_000 - sent)));
    assert.deepEqual([total, largest], [100_000_000, 65_536]);
  });
});
