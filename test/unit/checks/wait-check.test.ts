import { strict as assert } from 'node:assert';
import { CheckFailedError } from '../../../src/checks/errors.js';
import { waitCheck } from '../../../src/checks/wait-check.js';
import { FakeClock, settle } from '../../support/fake-clock.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

describe('a wait check (waitCheck)', () => {
  const signal = new AbortController().signal;

  async function started(): Promise<{ clock: FakeClock; runtime: FakeRuntime; id: string }> {
    const clock = new FakeClock();
    const runtime = new FakeRuntime(clock);
    runtime.addImage('web:v1', 'sha256:web');
    const id = await runtime.createContainer({
      name: 'ns.web.1',
      image: 'web:v1',
      env: {},
      labels: {},
      ports: [],
      volumes: [],
      resources: {},
    });
    await runtime.startContainer(id);
    return { clock, runtime, id };
  }

  it('passes once the container has run for the given seconds', async () => {
    const { clock, runtime, id } = await started();
    let passed = false;
    const check = waitCheck(runtime, clock, id, 3, signal).then(() => (passed = true));
    await settle();
    await clock.advance(2_000);
    assert.equal(passed, false);
    await clock.advance(1_000);
    await check;
  });

  /** A 3 s wait check while `meanwhile` happens to the container: it must fail with a message ending in `ending`. */
  async function failsWith(
    ending: string,
    meanwhile: (world: { clock: FakeClock; runtime: FakeRuntime; id: string }) => Promise<void>,
  ): Promise<void> {
    const world = await started();
    const check = assert.rejects(
      waitCheck(world.runtime, world.clock, world.id, 3, signal),
      (error: Error) => error instanceof CheckFailedError && error.message.endsWith(ending),
    );
    await settle();
    await meanwhile(world);
    await check;
  }

  it('fails with the exit code of a container that exited', () =>
    failsWith('container ns.web.1 is exited (exit code 3)', async ({ clock, runtime, id }) => {
      runtime.crash(id, 3);
      await clock.advance(1_000);
    }));

  it('fails with the exit code of the crash behind a restart the engine made between two looks', () =>
    failsWith('container ns.web.1 restarted during the check (exit code 3)', async ({ clock, runtime, id }) => {
      await clock.advance(500);
      runtime.crashAndRestart(id, 3);
      await clock.advance(500);
    }));
});
