import { strict as assert } from 'node:assert';
import { demultiplexLogFrames } from '../../../../src/runtime/docker/log-frames.js';

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
