import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import { JsonLineDecoder, forEachJsonLine } from '../../../../src/runtime/docker/json-lines.js';

describe('JsonLineDecoder', function () {
  it('yields a value only once its line is complete, whatever the chunking', function () {
    const wire = Buffer.from('{"a":"café"}\r\n\n{"b":2}\nnot json\n{"c":3}');
    const values: unknown[] = [];
    const decoder = new JsonLineDecoder();
    for (let i = 0; i < wire.length; i += 1) values.push(...decoder.push(wire.subarray(i, i + 1)));
    assert.deepEqual(values, [{ a: 'café' }, { b: 2 }]);
    assert.deepEqual(decoder.end(), [{ c: 3 }]);
  });
});

describe('forEachJsonLine', function () {
  it('calls back for every value and resolves at the end of the stream', async function () {
    const values: unknown[] = [];
    await forEachJsonLine(Readable.from(['{"x":1}\n{"y"', ':2}\n']), (value) => values.push(value));
    assert.deepEqual(values, [{ x: 1 }, { y: 2 }]);
  });

  it('rejects when the stream fails', async function () {
    const failing = new Readable({
      read() {
        this.destroy(new Error('reset'));
      },
    });
    await assert.rejects(
      forEachJsonLine(failing, () => undefined),
      /reset/,
    );
  });
});
