import { strict as assert } from 'node:assert';
import type { BerthEvent } from '../../../src/events/types.js';
import { leaderOnly } from '../../../src/notify/leader-only.js';
import type { Sink } from '../../../src/notify/sinks.js';

const event = (type: BerthEvent['type']): BerthEvent => ({
  id: type,
  type,
  time: '2026-12-07T00:00:00.000Z',
  namespace: 'dokku',
  message: type,
  details: {},
});

describe('notifications from the leader only (leaderOnly)', () => {
  it("delivers while this berth leads, drops while it is standby, and always delivers the lease's own events", async () => {
    const delivered: string[] = [];
    const sink: Sink = {
      name: 'webhook',
      filter: {} as Sink['filter'],
      deliver: async (e) => void delivered.push(e.type),
    };
    let leading = true;
    const gated = leaderOnly(sink, () => leading);
    await gated.deliver(event('deploy.succeeded'));
    leading = false;
    await gated.deliver(event('deploy.failed'));
    await gated.deliver(event('lease.lost'));
    assert.deepEqual(delivered, ['deploy.succeeded', 'lease.lost']);
    assert.equal(gated.name, 'webhook');
  });
});
