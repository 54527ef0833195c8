import { strict as assert } from 'node:assert';
import { parseMemorySize } from '../../../../src/runtime/docker/memory-size.js';

describe('parseMemorySize', function () {
  const cases: Array<[string, number | undefined]> = [
    ['1048576', 1048576],
    ['512k', 512 * 1024],
    ['256m', 256 * 1024 ** 2],
    ['256M', 256 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['512KiB', 512 * 1024],
    ['64mb', 64 * 1024 ** 2],
    ['100b', 100],
    ['', undefined],
    ['lots', undefined],
    ['-1m', undefined],
    ['1x', undefined],
  ];
  for (const [text, bytes] of cases) {
    it(`${JSON.stringify(text)} -> ${bytes}`, function () {
      assert.equal(parseMemorySize(text), bytes);
    });
  }
});
