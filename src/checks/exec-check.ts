import type { ExecCheck } from '../manifest/types.js';
import type { Runtime } from '../runtime/types.js';
import type { Clock } from '../util/clock.js';
import { attemptUntilPassed } from './attempts.js';

/** How much of a failing probe's output a message quotes. */
const OUTPUT_CHARS = 200;

/**
 * Runs `check.command` inside the container up to `attempts` times, `wait` seconds before each
 * attempt, `timeout` seconds each; passes on the first exit code 0. Fails at once when the
 * container stops running. The failure quotes the last line the probe printed, as the runtime
 * reads every container's output: bounded, stripped, with each of `secrets` redacted.
 */
export function execCheck(
  runtime: Runtime,
  clock: Clock,
  containerId: string,
  check: ExecCheck,
  signal: AbortSignal,
  secrets: readonly string[],
): Promise<{ attempts: number }> {
  return attemptUntilPassed(
    { runtime, clock },
    containerId,
    check,
    signal,
    async () => {
      const result = await runtime.execInContainer(containerId, check.command, check.timeout * 1000, secrets);
      if (signal.aborted) throw signal.reason;
      if (result.outcome === 'exited' && result.exitCode === 0) return '';
      const said = lastLine(result.output);
      return (
        (result.outcome === 'timed-out' ? `no exit within ${check.timeout}s` : `exit code ${result.exitCode}`) +
        (said ? `: ${said}` : '')
      );
    },
    (name, lastProblem) =>
      `check ${describeCommand(check.command)} in ${name} failed after ${check.attempts} attempts: ${lastProblem}`,
  );
}

/** The command as a user wrote it, for messages and logs. */
export function describeCommand(command: string[]): string {
  return JSON.stringify(command);
}

function lastLine(output: string): string {
  const line = output.trim().split('\n').pop()?.trim() ?? '';
  return line.length > OUTPUT_CHARS ? `${line.slice(0, OUTPUT_CHARS)}...` : line;
}
