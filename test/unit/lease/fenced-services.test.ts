import { strict as assert } from 'node:assert';
import { NotLeaderError } from '../../../src/lease/errors.js';
import { fencedServices } from '../../../src/lease/fenced-services.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeServices } from '../../support/fake-services.js';

describe('the fence (fencedServices)', () => {
  it('refuses every write while this replica does not lead, checked at the call; reads stay open', async () => {
    const inner = new FakeServices(new FakeClock());
    let leading = false;
    const fenced = fencedServices(inner, () => leading);
    const writes: [string, () => Promise<unknown>][] = [
      ['pushImage', () => fenced.pushImage('a', 'b')],
      ['updateService', () => fenced.updateService('id', 1, { name: 's' } as never)],
      ['createService', () => fenced.createService({ name: 's' } as never)],
      ['rollbackService', () => fenced.rollbackService('id', 1)],
      ['labelService', () => fenced.labelService('id', 1, {})],
      ['removeService', () => fenced.removeService('id')],
      ['createSecret', () => fenced.createSecret({ name: 's', labels: {}, data: Buffer.from('') })],
      ['removeSecret', () => fenced.removeSecret('id')],
      ['createJob', () => fenced.createJob({ name: 'j' } as never)],
      ['removeJob', () => fenced.removeJob('id')],
    ];
    for (const [operation, write] of writes)
      await assert.rejects(
        write(),
        (error: unknown) => error instanceof NotLeaderError && error.operation === operation,
      );
    assert.deepEqual(await fenced.listServices('dokku'), []);
    leading = true;
    await fenced.removeSecret('gone');
  });
});
