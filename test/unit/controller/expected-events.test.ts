import { strict as assert } from 'node:assert';
import { ExpectedEvents } from '../../../src/controller/expected-events.js';
import { FakeClock } from '../../support/fake-clock.js';

describe('ExpectedEvents', () => {
  it('drops each expected event once, per container, and nothing else', () => {
    const expected = new ExpectedEvents(new FakeClock());
    expected.expect('c1', ['kill', 'die', 'stop']);
    assert.equal(expected.consume('c1', 'die'), true);
    assert.equal(expected.consume('c1', 'die'), false, 'a second die is news (the container ran again and crashed)');
    assert.equal(expected.consume('c2', 'kill'), false, 'another container');
    assert.equal(expected.consume('c1', 'start'), false, 'not an expected action');
  });

  it('forgets expectations whose event never came after the time to live', async () => {
    const clock = new FakeClock();
    const expected = new ExpectedEvents(clock, 1_000);
    expected.expect('c1', ['start']);
    await clock.advance(1_001);
    assert.equal(expected.consume('c1', 'start'), false, 'a start long after is someone else');
    expected.expect('c2', ['start']);
    assert.equal(expected.size, 1, 'the expired entry is swept');
  });
});
