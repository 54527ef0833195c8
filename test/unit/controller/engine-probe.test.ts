import { strict as assert } from 'node:assert';
import { EngineEvents, PROBE_DEADLINE_MS } from '../../../src/controller/sources/engine-events.js';
import type { EngineInfo } from '../../../src/runtime/types.js';
import { silentLogger } from '../../../src/util/silent-logger.js';
import { FakeClock, settle } from '../../support/fake-clock.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

/** A runtime whose ping answers only when the test says (a hung engine holds it). */
class HangingRuntime extends FakeRuntime {
  private pending: ((info: EngineInfo) => void)[] = [];
  hung = false;
  pings = 0;
  override async ping(): Promise<EngineInfo> {
    this.pings++;
    if (!this.hung) return super.ping();
    return new Promise((resolve) => this.pending.push(resolve));
  }
  resume(): void {
    this.hung = false;
    for (const resolve of this.pending.splice(0)) resolve({ engineVersion: 'fake', apiVersion: '1.41' });
  }
}

describe('engine probe (a hung engine holds its event stream open and answers nothing)', () => {
  it('reports a ping unanswered past the deadline as an outage, once, and the next answer as a reconnect', async () => {
    const clock = new FakeClock();
    const runtime = new HangingRuntime(clock);
    const seen: string[] = [];
    const events = new EngineEvents('dokku', { runtime, clock, logger: silentLogger() });
    await events.start({
      onApp: () => undefined,
      onImage: () => undefined,
      onReconnect: () => seen.push('reconnect'),
      onOutage: (error) => seen.push(`outage: ${error.message}`),
    });

    events.probe();
    await settle();
    assert.deepEqual(seen, [], 'an answering engine is left alone');
    assert.equal(clock.pendingTimers, 0, 'no timer is left behind at rest');

    runtime.hung = true;
    await clock.advance(1_000);
    events.probe();
    events.probe();
    assert.equal(runtime.pings, 2, 'one ping at a time');
    await clock.advance(PROBE_DEADLINE_MS + 100);
    assert.equal(seen.length, 1);
    assert.match(seen[0] ?? '', /^outage: the engine has not answered a ping for 5 s/);
    events.probe();
    await clock.advance(PROBE_DEADLINE_MS * 2);
    assert.equal(seen.length, 1, 'reported once');

    runtime.resume();
    await settle();
    assert.deepEqual(seen.slice(1), ['reconnect']);
    events.close();
  });
});
