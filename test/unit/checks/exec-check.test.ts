import { strict as assert } from 'node:assert';
import { execCheck } from '../../../src/checks/exec-check.js';
import { CheckFailedError } from '../../../src/checks/errors.js';
import type { ExecResult } from '../../../src/runtime/types.js';
import { systemClock } from '../../../src/util/clock.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

describe('an exec check (execCheck)', () => {
  const check = { command: ['/app/healthcheck', '--ready'], attempts: 3, wait: 0, timeout: 2 };
  const signal = new AbortController().signal;

  function runtimeAnswering(...answers: ExecResult[]): { runtime: FakeRuntime; id: string } {
    const runtime = new FakeRuntime(systemClock);
    const id = runtime.addForeignContainer('web-1');
    runtime.execAnswer = () => answers.shift() ?? { outcome: 'exited', exitCode: 0, output: '' };
    return { runtime, id };
  }

  it('passes on the first exit 0, running the command as written', async () => {
    const { runtime, id } = runtimeAnswering({ outcome: 'exited', exitCode: 1, output: 'not yet\n' });
    assert.deepEqual(await execCheck(runtime, systemClock, id, check, signal, []), { attempts: 2 });
    assert.deepEqual(
      runtime.calls.filter((c) => c.startsWith('execInContainer')),
      [`execInContainer ${id} /app/healthcheck --ready`, `execInContainer ${id} /app/healthcheck --ready`],
    );
  });

  it('fails after its attempts, naming the command, the container and the last thing the probe said', async () => {
    const { runtime, id } = runtimeAnswering(
      { outcome: 'exited', exitCode: 1, output: 'db down\n' },
      { outcome: 'timed-out', output: '' },
      { outcome: 'exited', exitCode: 127, output: 'exec: "/app/healthcheck": no such file or directory\n' },
    );
    await assert.rejects(execCheck(runtime, systemClock, id, check, signal, []), (error: Error) => {
      assert.ok(error instanceof CheckFailedError);
      assert.equal(
        error.message,
        'check ["/app/healthcheck","--ready"] in web-1 failed after 3 attempts: exit code 127: exec: "/app/healthcheck": no such file or directory',
      );
      return true;
    });
  });

  it('quotes the probe as every container text reaches berth: each secret redacted, control characters stripped, one line of at most 200 characters', async () => {
    const { runtime, id } = runtimeAnswering(
      ...Array.from(
        { length: 3 },
        (): ExecResult => ({
          outcome: 'exited',
          exitCode: 2,
          output: `${'noise '.repeat(100)}\n\u001b[31mdial\u001b[0m postgres://app:pw-Kq93@db/app?token=tok-Vx52: refused\u0007\n`,
        }),
      ),
    );
    await assert.rejects(
      execCheck(runtime, systemClock, id, check, signal, ['DB_PASSWORD=pw-Kq93', 'pw-Kq93', 'tok-Vx52']),
      (error: Error) => {
        assert.equal(
          error.message,
          'check ["/app/healthcheck","--ready"] in web-1 failed after 3 attempts: exit code 2: dial postgres://app:<redacted>@db/app?token=<redacted>: refused',
        );
        return true;
      },
    );
    const { runtime: flooded, id: floodedId } = runtimeAnswering(
      ...Array.from({ length: 3 }, (): ExecResult => ({ outcome: 'exited', exitCode: 1, output: 'y'.repeat(1000) })),
    );
    await assert.rejects(
      execCheck(flooded, systemClock, floodedId, check, signal, []),
      new RegExp(`exit code 1: ${'y'.repeat(200)}\\.\\.\\.$`),
    );
  });

  it('says a probe that never ends timed out', async () => {
    const { runtime, id } = runtimeAnswering(
      ...Array.from({ length: 3 }, (): ExecResult => ({ outcome: 'timed-out', output: '' })),
    );
    await assert.rejects(
      execCheck(runtime, systemClock, id, check, signal, []),
      /failed after 3 attempts: no exit within 2s$/,
    );
  });

  it('fails at once when the container stopped, without running the probe', async () => {
    const { runtime, id } = runtimeAnswering();
    runtime.crash(id);
    await assert.rejects(
      execCheck(runtime, systemClock, id, check, signal, []),
      /container web-1 is exited \(exit code 1\)/,
    );
    assert.equal(runtime.calls.filter((c) => c.startsWith('execInContainer')).length, 0);
  });
});
